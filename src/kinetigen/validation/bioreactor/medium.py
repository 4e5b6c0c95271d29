"""The medium of a batch culture: which extracellular metabolites are states, and the substrate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kinetigen.kinetics import KineticModel
from kinetigen.network import base_id
from kinetigen.settings import BioreactorSettings


def as_bioreactor_settings(
    settings: BioreactorSettings | Mapping[str, Any] | None,
) -> BioreactorSettings:
    """Accept ready settings, a whole workflow config, or None (defaults)."""
    if settings is None:
        return BioreactorSettings()
    if isinstance(settings, BioreactorSettings):
        return settings
    return BioreactorSettings.from_config(settings)


def dynamic_extracellular(
    kinetic_model: KineticModel, settings: BioreactorSettings | None = None
) -> list[str]:
    """Boundary metabolites of the extracellular compartment that become states, in the
    kinetic model's boundary order (all of them take part in some active reaction)."""
    settings = as_bioreactor_settings(settings)
    constant = set(settings.constant_metabolites)
    return [
        metabolite
        for metabolite in kinetic_model.boundary
        if kinetic_model.compartments.get(metabolite) == settings.extracellular_compartment
        and base_id(metabolite) not in constant
    ]


def exchange_stoichiometry(kinetic_model: KineticModel, metabolites: Sequence[str]) -> np.ndarray:
    """N_S: coefficients of ``metabolites`` in the kinetic reactions [metabolites, reactions]."""
    matrix = np.zeros((len(metabolites), len(kinetic_model.rate_laws)))
    row = {m: i for i, m in enumerate(metabolites)}
    for j, coefficients in enumerate(kinetic_model.reaction_metabolites):
        for metabolite, coefficient in coefficients.items():
            if metabolite in row:
                matrix[row[metabolite], j] = coefficient
    return matrix


def steady_state_uptake(kinetic_model: KineticModel, metabolites: Sequence[str]) -> np.ndarray:
    """Uptake of ``metabolites`` at every steady state [steady states, metabolites]
    (mmol/gDW/h, positive = consumed by the cells)."""
    stoichiometry = exchange_stoichiometry(kinetic_model, metabolites)
    rate = -kinetic_model.flux @ stoichiometry.T  # mol/L cell/h
    return rate / kinetic_model.settings.flux_to_molar_rate


def resolve_substrate(
    kinetic_model: KineticModel, settings: BioreactorSettings | None = None
) -> str:
    """The substrate whose exhaustion ends the batch.

    ``settings.substrate`` when given; otherwise the environment's main carbon source, taken
    as the dynamic extracellular metabolite with the largest mean molar uptake over the
    steady states (the constant gases and ions are excluded, so on glucose media this is
    glc__D_e). Raises :class:`BioreactorConfigError` when the substrate is not dynamic or not
    consumed.
    """
    settings = as_bioreactor_settings(settings)
    dynamic = dynamic_extracellular(kinetic_model, settings)
    environment = kinetic_model.environment
    if not dynamic:
        raise BioreactorSettings.error(
            "constant_metabolites",
            f"holds them all: the kinetic model of environment {environment!r} has no dynamic "
            "extracellular metabolite",
        )
    uptake = steady_state_uptake(kinetic_model, dynamic).mean(axis=0)
    if settings.substrate is None:
        substrate = dynamic[int(np.argmax(uptake))]
    else:
        substrate = settings.substrate
        if substrate not in dynamic:
            raise BioreactorSettings.error(
                "substrate",
                f"{substrate!r} is not a dynamic extracellular metabolite of environment "
                f"{environment!r} (dynamic: {dynamic})",
            )
    if uptake[dynamic.index(substrate)] <= 0:
        raise BioreactorSettings.error(
            "substrate",
            f"{substrate!r} is not consumed at the steady states of environment "
            f"{environment!r} (mean uptake {uptake[dynamic.index(substrate)]:.3g} mmol/gDW/h); "
            "name a consumed metabolite",
        )
    return substrate
