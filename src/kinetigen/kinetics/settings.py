"""Settings of the kinetic-model stage: the kinetics section with the physiology it reads."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kinetigen.kinetics.prior import KmPrior
from kinetigen.kinetics.split import SteadyStateSplit, chain_positions, split_steady_states
from kinetigen.schema import ConfigError
from kinetigen.settings import (
    GAS_CONSTANT_KJ_PER_MOL_K,
    KineticsSectionSettings,
    MeasuredKm,
    PhysiologySettings,
    ValidationSettings,
    WorkflowSettings,
)

# Gas constant in kJ/mol/K (CODATA 2018).
GAS_CONSTANT_KJ = GAS_CONSTANT_KJ_PER_MOL_K


class KineticsConfigError(ConfigError):
    """A config value of the kinetic stage is missing, unknown or out of range."""


@dataclass(frozen=True)
class KineticsSettings:
    """Everything the kinetic stage reads: the ``kinetics`` section with the physiology it
    needs, flattened. Built by :meth:`from_config` or :meth:`from_sections` (the defaults, types
    and ranges are the schema's, through :mod:`kinetigen.settings`).

    Units: temperature in K, cell density in gDW per litre of cell volume, Km in mol/L,
    fluxes in mmol/gDW/h (``active_flux_tol``), thresholds in 1/h.
    """

    biomass_reaction: str
    temperature_K: float
    cell_density_gDW_per_L: float
    small_molecules: tuple[str, ...]
    compartment_pH: Mapping[str, float]
    boundary_compartments: tuple[str, ...]
    constant_small_molecules: bool
    km_bounds_M: tuple[float, float]
    km_bounds_overrides_M: Mapping[str, tuple[float, float]]
    active_flux_tol: float
    threshold_factor: float
    threshold_fixed_per_h: float | None
    split_train: int
    split_evaluation: int
    split_gap: int
    attainability_max_evaluations: int
    attainability_popsize: int | None
    attainability_sigma0: float
    oracle_parameter_sets: int
    oracle_batch_size: int
    sbml_models: int
    device: str
    measured_km: tuple[MeasuredKm, ...] = ()
    km_prior: KmPrior | None = None
    biomass_law: str = "lumped"

    @property
    def rt(self) -> float:
        """RT in kJ/mol."""
        return GAS_CONSTANT_KJ * self.temperature_K

    @property
    def flux_to_molar_rate(self) -> float:
        """Factor from mmol/gDW/h to mol/L/h (litres of cell volume)."""
        return 1.0e-3 * self.cell_density_gDW_per_L

    def split(
        self, n_steady_states: int, environment: str = "?", sample_ids: Sequence[Any] = ()
    ) -> SteadyStateSplit:
        """Training and evaluation positions of an environment's ``n_steady_states``; integer
        ``sample_ids`` are their chain positions (:func:`chain_positions`)."""
        return split_steady_states(
            n_steady_states,
            self.split_train,
            self.split_evaluation,
            self.split_gap,
            environment,
            chain_positions(sample_ids),
        )

    @property
    def measured(self) -> dict[str, MeasuredKm]:
        """The measured Km (``kinetics.measured_km``) by parameter name."""
        return {item.name: item for item in self.measured_km}

    def ln_km_bounds(self, name: str) -> tuple[float, float]:
        """Bounds on ln(Km / (mol/L)) of parameter ``name``: its measured range (equal bounds
        for a measured value), else its override, else ``km_bounds_M``."""
        measured = self.measured.get(name)
        if measured is not None:
            return math.log(measured.low_M), math.log(measured.high_M)
        low, high = self.km_bounds_overrides_M.get(name, self.km_bounds_M)
        return math.log(low), math.log(high)

    @classmethod
    def from_sections(
        cls,
        physiology: PhysiologySettings,
        kinetics: KineticsSectionSettings,
        validation: ValidationSettings,
        biomass_reaction: str,
    ) -> KineticsSettings:
        """From the section settings; an unset threshold factor is derived from the return
        test (``validation``)."""
        threshold, attainability = kinetics.threshold, kinetics.attainability
        return cls(
            biomass_reaction=biomass_reaction,
            temperature_K=physiology.temperature_K,
            cell_density_gDW_per_L=physiology.cell_density_gDW_per_L,
            small_molecules=physiology.small_molecules,
            compartment_pH={
                cid: float(spec["pH"]) for cid, spec in physiology.compartments.items()
            },
            boundary_compartments=kinetics.boundary_compartments,
            constant_small_molecules=kinetics.constant_small_molecules,
            km_bounds_M=kinetics.km_bounds_M,
            km_bounds_overrides_M=dict(kinetics.km_bounds_overrides_M),
            active_flux_tol=kinetics.active_flux_tol,
            threshold_factor=(
                validation.threshold_factor if threshold.factor is None else threshold.factor
            ),
            threshold_fixed_per_h=threshold.fixed_per_h,
            split_train=kinetics.split.n_train,
            split_evaluation=kinetics.split.n_evaluation,
            split_gap=kinetics.split.gap,
            attainability_max_evaluations=attainability.max_evaluations,
            attainability_popsize=attainability.popsize,
            attainability_sigma0=attainability.sigma0,
            oracle_parameter_sets=kinetics.oracle.n_parameter_sets,
            oracle_batch_size=kinetics.oracle.batch_size,
            sbml_models=kinetics.sbml.n_models,
            device=kinetics.device,
            measured_km=kinetics.measured(),
            km_prior=KmPrior.from_settings(kinetics.km_prior),
            biomass_law=kinetics.biomass_law,
        )

    @classmethod
    def from_config(cls, config: WorkflowSettings | Mapping[str, Any]) -> KineticsSettings:
        """Read the settings from workflow settings or a config mapping (top level, with
        ``physiology``, ``biomass_reaction`` and optional ``kinetics`` and ``validation``
        sections); missing keys take the schema's defaults, a bad key raises
        :class:`KineticsConfigError` naming it."""
        if isinstance(config, WorkflowSettings):
            return cls.from_sections(
                config.physiology, config.kinetics, config.validation, config.biomass_reaction
            )
        if not isinstance(config, Mapping):
            raise KineticsConfigError("config: must be a mapping")
        sections = ("physiology", "biomass_reaction", "kinetics", "validation")
        try:
            settings = WorkflowSettings.from_section(
                {key: config[key] for key in sections if key in config}
            )
            return cls.from_config(settings)
        except ConfigError as error:
            raise KineticsConfigError(str(error)) from None


def as_settings(
    config: KineticsSettings | WorkflowSettings | Mapping[str, Any],
) -> KineticsSettings:
    """Accept ready settings, workflow settings or a workflow config mapping."""
    if isinstance(config, KineticsSettings):
        return config
    return KineticsSettings.from_config(config)
