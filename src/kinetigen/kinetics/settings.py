"""Settings of the kinetic-model stage, read from the workflow config with defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Gas constant in kJ/mol/K (CODATA 2018).
GAS_CONSTANT_KJ = 8.314462618e-3

# Defaults of the `kinetics:` config section. Km bounds: nearly all measured Km lie between
# 0.1 uM and 0.1 M (Bar-Even et al. 2011, BRENDA); one decade of slack on each side.
KINETICS_DEFAULTS: dict[str, Any] = {
    "km_bounds_M": [1.0e-8, 1.0],
    "km_bounds_overrides_M": {},
    "active_flux_tol": 1.0e-9,
    "boundary_compartments": ["e"],
    "threshold": {"factor": 3.0, "fixed_per_h": None},
    "attainability": {
        "n_steady_states": 10,
        "max_evaluations": 5000,
        "popsize": None,
        "sigma0": 1.0,
    },
    "oracle": {"n_parameter_sets": 10000, "batch_size": 1000},
    "sbml": {"n_models": 3},
    "device": "cpu",
}


class KineticsConfigError(ValueError):
    """A config value of the kinetic stage is missing, unknown or out of range."""


def _merge(defaults: Mapping[str, Any], given: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise KineticsConfigError(f"config key '{prefix}.{key}' is unknown")
        if isinstance(defaults[key], Mapping) and key != "km_bounds_overrides_M":
            if not isinstance(value, Mapping):
                raise KineticsConfigError(f"config key '{prefix}.{key}' must be a mapping")
            merged[key] = _merge(defaults[key], value, f"{prefix}.{key}")
        else:
            merged[key] = value
    return merged


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
    km_bounds_M: tuple[float, float] = (1.0e-8, 1.0)
    km_bounds_overrides_M: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    active_flux_tol: float = 1.0e-9
    threshold_factor: float = 3.0
    threshold_fixed_per_h: float | None = None
    attainability_steady_states: int = 10
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

    def ln_km_bounds(self, name: str) -> tuple[float, float]:
        """Bounds on ln(Km / (mol/L)) of parameter ``name``."""
        low, high = self.km_bounds_overrides_M.get(name, self.km_bounds_M)
        return math.log(low), math.log(high)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KineticsSettings:
        """Read the settings from a workflow config (top level, with ``physiology``,
        ``biomass_reaction`` and an optional ``kinetics`` section)."""
        if not isinstance(config, Mapping):
            raise KineticsConfigError("the config must be a mapping")
        physiology = config.get("physiology") or {}
        kinetics = _merge(KINETICS_DEFAULTS, config.get("kinetics") or {}, "kinetics")
        compartments = physiology.get("compartments") or {"c": {"pH": 7.5}, "e": {"pH": 7.0}}
        overrides = {
            str(name): _bounds(value, f"kinetics.km_bounds_overrides_M.{name}")
            for name, value in (kinetics["km_bounds_overrides_M"] or {}).items()
        }
        threshold = kinetics["threshold"]
        attainability = kinetics["attainability"]
        oracle = kinetics["oracle"]
        settings = cls(
            biomass_reaction=str(config.get("biomass_reaction", cls.biomass_reaction)),
            temperature_K=float(physiology.get("temperature_K", cls.temperature_K)),
            cell_density_gDW_per_L=float(
                physiology.get("cell_density_gDW_per_L", cls.cell_density_gDW_per_L)
            ),
            small_molecules=tuple(physiology.get("small_molecules", cls.small_molecules)),
            compartment_pH={cid: float(spec.get("pH", 7.0)) for cid, spec in compartments.items()},
            boundary_compartments=tuple(kinetics["boundary_compartments"]),
            km_bounds_M=_bounds(kinetics["km_bounds_M"], "kinetics.km_bounds_M"),
            km_bounds_overrides_M=overrides,
            active_flux_tol=float(kinetics["active_flux_tol"]),
            threshold_factor=float(threshold["factor"]),
            threshold_fixed_per_h=(
                None if threshold["fixed_per_h"] is None else float(threshold["fixed_per_h"])
            ),
            attainability_steady_states=int(attainability["n_steady_states"]),
            attainability_max_evaluations=int(attainability["max_evaluations"]),
            attainability_popsize=(
                None if attainability["popsize"] is None else int(attainability["popsize"])
            ),
            attainability_sigma0=float(attainability["sigma0"]),
            oracle_parameter_sets=int(oracle["n_parameter_sets"]),
            oracle_batch_size=int(oracle["batch_size"]),
            sbml_models=int(kinetics["sbml"]["n_models"]),
            device=str(kinetics["device"]),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise a clear error for values out of range."""
        if self.temperature_K <= 0:
            raise KineticsConfigError("config key 'physiology.temperature_K' must be > 0")
        if self.cell_density_gDW_per_L <= 0:
            raise KineticsConfigError("config key 'physiology.cell_density_gDW_per_L' must be > 0")
        if self.active_flux_tol < 0:
            raise KineticsConfigError("config key 'kinetics.active_flux_tol' must be >= 0")
        if self.threshold_factor <= 0:
            raise KineticsConfigError("config key 'kinetics.threshold.factor' must be > 0")
        if self.threshold_fixed_per_h is not None and self.threshold_fixed_per_h >= 0:
            raise KineticsConfigError(
                "config key 'kinetics.threshold.fixed_per_h' must be negative (1/h)"
            )
        positive = {
            "kinetics.attainability.n_steady_states": self.attainability_steady_states,
            "kinetics.attainability.max_evaluations": self.attainability_max_evaluations,
            "kinetics.attainability.sigma0": self.attainability_sigma0,
            "kinetics.oracle.n_parameter_sets": self.oracle_parameter_sets,
            "kinetics.oracle.batch_size": self.oracle_batch_size,
        }
        for key, value in positive.items():
            if value <= 0:
                raise KineticsConfigError(f"config key '{key}' must be > 0, got {value}")
        if self.attainability_popsize is not None and self.attainability_popsize < 2:
            raise KineticsConfigError("config key 'kinetics.attainability.popsize' must be >= 2")
        if self.sbml_models < 0:
            raise KineticsConfigError("config key 'kinetics.sbml.n_models' must be >= 0")


def as_settings(config: KineticsSettings | Mapping[str, Any]) -> KineticsSettings:
    """Accept either ready settings or a workflow config mapping."""
    if isinstance(config, KineticsSettings):
        return config
    return KineticsSettings.from_config(config)
