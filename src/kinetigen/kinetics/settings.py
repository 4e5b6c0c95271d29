"""Settings of the kinetic-model stage, read from the workflow config with defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kinetigen.config import ConfigError, with_defaults
from kinetigen.kinetics.split import SteadyStateSplit, split_steady_states
from kinetigen.kinetics.validity import return_test_factor

# Gas constant in kJ/mol/K (CODATA 2018).
GAS_CONSTANT_KJ = 8.314462618e-3


class KineticsConfigError(ConfigError):
    """A config value of the kinetic stage is missing, unknown or out of range."""


def _bounds(value: Any, key: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise KineticsConfigError(
            f"config key '{key}' must be [low, high], got {value!r}"
        ) from error
    if not 0.0 < low < high:
        raise KineticsConfigError(f"config key '{key}' needs 0 < low < high, got [{low}, {high}]")
    return low, high


@dataclass(frozen=True)
class KineticsSettings:
    """Everything the kinetic stage reads from the config.

    Units: temperature in K, cell density in gDW per litre of cell volume, Km in mol/L,
    fluxes in mmol/gDW/h (``active_flux_tol``), thresholds in 1/h.
    """

    biomass_reaction: str = "Biomass_Ecoli_core"
    temperature_K: float = 310.15
    cell_density_gDW_per_L: float = 300.0
    small_molecules: tuple[str, ...] = ("h", "h2o", "pi", "co2", "o2", "nh4")
    compartment_pH: Mapping[str, float] = field(default_factory=lambda: {"c": 7.5, "e": 7.0})
    boundary_compartments: tuple[str, ...] = ("e",)
    constant_small_molecules: bool = True
    km_bounds_M: tuple[float, float] = (1.0e-8, 1.0)
    km_bounds_overrides_M: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    active_flux_tol: float = 1.0e-9
    threshold_factor: float = math.log(0.5 / 0.01)  # validity.return_test_factor defaults
    threshold_fixed_per_h: float | None = None
    split_train: int = 100
    split_evaluation: int = 20
    split_gap: int = 15
    attainability_max_evaluations: int = 5000
    attainability_popsize: int | None = None
    attainability_sigma0: float = 1.0
    oracle_parameter_sets: int = 10000
    oracle_batch_size: int = 1000
    sbml_models: int = 3
    device: str = "cpu"

    @property
    def rt(self) -> float:
        """RT in kJ/mol."""
        return GAS_CONSTANT_KJ * self.temperature_K

    @property
    def flux_to_molar_rate(self) -> float:
        """Factor from mmol/gDW/h to mol/L/h (litres of cell volume)."""
        return 1.0e-3 * self.cell_density_gDW_per_L

    def split(self, n_steady_states: int, environment: str = "?") -> SteadyStateSplit:
        """Training and evaluation positions of an environment's ``n_steady_states``."""
        return split_steady_states(
            n_steady_states, self.split_train, self.split_evaluation, self.split_gap, environment
        )

    def ln_km_bounds(self, name: str) -> tuple[float, float]:
        """Bounds on ln(Km / (mol/L)) of parameter ``name``."""
        low, high = self.km_bounds_overrides_M.get(name, self.km_bounds_M)
        return math.log(low), math.log(high)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KineticsSettings:
        """Read the settings from a workflow config (top level, with ``physiology``,
        ``biomass_reaction`` and an optional ``kinetics`` section); the schema in
        workflow/schemas fills in defaults and names any bad key."""
        if not isinstance(config, Mapping):
            raise KineticsConfigError("the config must be a mapping")
        # validation: an unset threshold factor is derived from the return test's settings.
        sections = ("physiology", "biomass_reaction", "kinetics", "validation")
        try:
            full = with_defaults({key: config[key] for key in sections if key in config})
        except ConfigError as error:
            raise KineticsConfigError(str(error)) from None
        physiology = full["physiology"]
        kinetics = full["kinetics"]
        threshold = kinetics["threshold"]
        attainability = kinetics["attainability"]
        return cls(
            biomass_reaction=full["biomass_reaction"],
            temperature_K=float(physiology["temperature_K"]),
            cell_density_gDW_per_L=float(physiology["cell_density_gDW_per_L"]),
            small_molecules=tuple(physiology["small_molecules"]),
            compartment_pH={
                cid: float(spec["pH"]) for cid, spec in physiology["compartments"].items()
            },
            boundary_compartments=tuple(kinetics["boundary_compartments"]),
            constant_small_molecules=bool(kinetics["constant_small_molecules"]),
            km_bounds_M=_bounds(kinetics["km_bounds_M"], "kinetics.km_bounds_M"),
            km_bounds_overrides_M={
                str(name): _bounds(value, f"kinetics.km_bounds_overrides_M.{name}")
                for name, value in kinetics["km_bounds_overrides_M"].items()
            },
            active_flux_tol=float(kinetics["active_flux_tol"]),
            threshold_factor=(
                return_test_factor(full["validation"])
                if threshold["factor"] is None
                else float(threshold["factor"])
            ),
            threshold_fixed_per_h=threshold["fixed_per_h"],
            split_train=kinetics["split"]["n_train"],
            split_evaluation=kinetics["split"]["n_evaluation"],
            split_gap=kinetics["split"]["gap"],
            attainability_max_evaluations=attainability["max_evaluations"],
            attainability_popsize=attainability["popsize"],
            attainability_sigma0=float(attainability["sigma0"]),
            oracle_parameter_sets=kinetics["oracle"]["n_parameter_sets"],
            oracle_batch_size=kinetics["oracle"]["batch_size"],
            sbml_models=kinetics["sbml"]["n_models"],
            device=str(kinetics["device"]),
        )


def as_settings(config: KineticsSettings | Mapping[str, Any]) -> KineticsSettings:
    """Accept either ready settings or a workflow config mapping."""
    if isinstance(config, KineticsSettings):
        return config
    return KineticsSettings.from_config(config)
