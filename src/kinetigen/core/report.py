"""``core.json``: the core definition actually used, and the sizes of its kinetic model.

The document holds the core's reactions (with why each is in), its metabolites and likely
dynamic states, the boundary metabolites (with the non-core reactions that make or use them)
and the boundary reactions of the reduced model (kind, stoichiometry, reference flux, bounds,
the genome-scale reactions each stands for, and why it is there). It is written through
:func:`kinetigen.io.write_json` (atomic: a killed job leaves no half-written file).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import cobra
import pandas as pd

from kinetigen.core.reduce import BIOMASS, EXCHANGE, FLUX_TOLERANCE, SUPPLY, BoundaryReaction
from kinetigen.core.select import CoreDefinition
from kinetigen.io import write_json
from kinetigen.kinetics.drains import PER_SUBSTRATE
from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.kinetics.structure import is_state_metabolite
from kinetigen.network import base_id, is_water_or_proton


def kinetic_sizes(
    reduced: cobra.Model,
    boundary: Sequence[BoundaryReaction],
    reference_fluxes: Mapping[str, float] | pd.Series,
    settings: KineticsSettings,
) -> dict[str, int]:
    """The likely size of the kinetic model of ``reduced`` at the reference fluxes: its
    active reactions that change a state, their dynamic states (the kinetic stage's rule)
    and Km.

    Km are counted as the kinetic stage writes its rate laws, taking every active core
    reaction as reversible (one Km per reactant other than H+, H2O and small molecules) and
    every boundary reaction as irreversible (one Km per consumed reactant other than H+ and
    H2O; a supply has none); a core reaction without thermodynamic data in the run would be
    irreversible and have fewer. With ``kinetics.biomass_law: per_substrate`` the biomass
    counts as one drain (and Km) per consumed state; its products go with the drains, so a
    constant-rate rest changes a state only where no state is consumed.
    """
    fluxes = {str(k): float(v) for k, v in dict(reference_fluxes).items()}
    kinds = {b.id: b.kind for b in boundary}
    flux_of = {b.id: b.reference_flux for b in boundary}
    active, states, km = 0, set(), 0
    for reaction in reduced.reactions:
        kind = kinds.get(reaction.id)
        flux = flux_of[reaction.id] if kind else fluxes.get(reaction.id, 0.0)
        changed = {m.id for m in reaction.metabolites if is_state_metabolite(m, settings)}
        if kind == EXCHANGE or abs(flux) <= FLUX_TOLERANCE or not changed:
            continue
        states |= changed
        if kind == BIOMASS and settings.biomass_law == PER_SUBSTRATE:
            drains, rest = _biomass_parts(reaction, flux, changed)
            active += drains + rest
            km += drains
            continue
        active += 1
        km += _km_count(reaction, flux, kind, settings)
    return {"reactions": active, "states": len(states), "km_parameters": km}


def _biomass_parts(reaction: cobra.Reaction, flux: float, states: set[str]) -> tuple[int, int]:
    """Drains (consumed states) and rest (0 or 1) of a per-substrate biomass."""
    direction = 1 if flux > 0 else -1
    oriented = {m.id: direction * c for m, c in reaction.metabolites.items() if m.id in states}
    drains = sum(c < 0 for c in oriented.values())
    return drains, int(drains == 0 and any(c > 0 for c in oriented.values()))


def _km_count(
    reaction: cobra.Reaction, flux: float, kind: str | None, settings: KineticsSettings
) -> int:
    reactants = [m for m in reaction.metabolites if not is_water_or_proton(m)]
    if kind is None:  # a core reaction: reversible law
        return sum(1 for m in reactants if base_id(m.id) not in settings.small_molecules)
    if kind == SUPPLY:
        return 0
    direction = 1 if flux > 0 else -1
    return sum(1 for m in reactants if direction * reaction.metabolites[m] < 0)


def core_document(
    core: CoreDefinition,
    boundary: Sequence[BoundaryReaction],
    sizes: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The content of ``core.json`` (see the module docstring)."""
    return {
        "whole_model": core.whole_model,
        "sizes": {
            **core.sizes(),
            "boundary_reactions": sum(1 for b in boundary if b.kind != EXCHANGE),
            "exchanges": sum(1 for b in boundary if b.kind == EXCHANGE),
        },
        "kinetic_model_estimate": dict(sizes or {}),
        "reactions": [{"id": r, "origin": core.origins[r]} for r in core.reactions],
        "metabolites": list(core.metabolites),
        "states": list(core.states),
        "boundary_metabolites": [
            {"id": m, "why": why} for m, why in core.boundary_metabolites.items()
        ],
        "boundary_reactions": [
            {
                "id": b.id,
                "kind": b.kind,
                "why": b.reason,
                "stoichiometry": dict(b.stoichiometry),
                "reference_flux": b.reference_flux,
                "bounds": list(b.bounds),
                "scale_range": list(b.scale_range),
                "stands_for": list(b.stands_for),
            }
            for b in boundary
        ],
    }


def write_core_json(
    path: str | os.PathLike,
    core: CoreDefinition,
    boundary: Sequence[BoundaryReaction],
    sizes: Mapping[str, int] | None = None,
) -> None:
    """Write ``core.json`` atomically."""
    write_json(core_document(core, boundary, sizes), path)
