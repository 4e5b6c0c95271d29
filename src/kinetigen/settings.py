"""Typed settings: one frozen dataclass per config section, built from the schema.

The schema (:mod:`kinetigen.schema`) is the one home of every key's default, type, range and
description; these classes hold no copy of them. A field left out takes the schema's default
(:data:`FROM_SCHEMA`), every value is checked against its key's part of the schema (errors name
the key, ``config key 'tfa.big_m_kJ': ...``) and stored as the annotated type (lists become
tuples, YAML's ``12`` becomes ``12.0`` for a float). ``check`` adds what JSON Schema cannot
say (relations between keys). A test checks that every section's fields are exactly the
schema's keys.

Build them at the edge (a Snakemake script, a notebook) and hand them to library functions::

    tfa = TFASettings.from_config(config)        # the section of a whole config
    tfa = TFASettings.from_section({"big_m_kJ": 500})
    tfa = TFASettings(big_m_kJ=500)              # the same, keyword by keyword
    settings = WorkflowSettings.from_config(config)   # every section at once
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

from kinetigen.schema import ConfigError, check_value, config_error, schema_defaults, subschema

# Gas constant in kJ/mol/K (CODATA 2018).
GAS_CONSTANT_KJ_PER_MOL_K = 8.314462618e-3


class _FromSchema:
    """Marks a field whose value is the schema's default."""

    def __repr__(self) -> str:
        return "<schema default>"


FROM_SCHEMA: Any = _FromSchema()


def keyed(key: str) -> Any:
    """A field read from config key ``key`` (its last part) instead of the field's name, for
    keys that are not Python names (``sep-cma``)."""
    return field(default=FROM_SCHEMA, metadata={"key": key})


def _plain(value: Any) -> Any:
    """``value`` as YAML would give it (tuples as lists, settings as mappings), for the schema."""
    if isinstance(value, SectionSettings):
        return value.as_dict()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _coerce(value: Any, annotation: Any) -> Any:
    """``value`` (already checked by the schema) as the annotated type."""
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if value is None:
        return None
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in arguments if a is not type(None)]
        return _coerce(value, inner[0]) if len(inner) == 1 else value
    if annotation is float:
        return float(value)
    if annotation is int:
        return int(value)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(_coerce(item, arguments[0]) for item in value)
        return tuple(_coerce(item, a) for item, a in zip(value, arguments, strict=True))
    if origin is Mapping or origin is dict:
        return {key: _coerce(item, arguments[1]) for key, item in value.items()}
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@dataclass(frozen=True)
class SectionSettings:
    """Base of the section classes: the fields are the keys of config section ``SECTION``."""

    SECTION: ClassVar[str] = ""
    # The error type raised for a bad value (a subclass of ConfigError).
    ERROR: ClassVar[type[ValueError]] = ConfigError

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for item in fields(self):
            key = self.key_of(item.name)
            value = getattr(self, item.name)
            nested = _section_class(hints[item.name])
            if nested is not None:
                if value is FROM_SCHEMA:
                    value = nested()
                elif not isinstance(value, nested):
                    value = nested.from_section(value)
            else:
                if value is FROM_SCHEMA:
                    if "default" not in subschema(key):
                        raise config_error(key, "is required (it has no default)", self.ERROR)
                    value = schema_defaults(key)
                if value or not item.metadata.get("may_be_empty"):
                    check_value(key, _plain(value), self.ERROR)
                value = _coerce(value, hints[item.name])
            object.__setattr__(self, item.name, value)
        self.check()

    def check(self) -> None:
        """Checks beyond the schema (relations between keys); raise :meth:`error`."""

    @classmethod
    def key_of(cls, name: str) -> str:
        """The config key ('tfa.big_m_kJ') of field ``name``."""
        spec = {item.name: item for item in fields(cls)}[name]
        key = spec.metadata.get("key")
        if key is not None:
            return key
        return f"{cls.SECTION}.{name}" if cls.SECTION else name

    @classmethod
    def error(cls, name: str, message: str) -> ValueError:
        """The error for field ``name``, naming its config key."""
        return config_error(cls.key_of(name), message, cls.ERROR)

    @classmethod
    def _names_by_key(cls) -> dict[str, str]:
        return {cls.key_of(item.name).rpartition(".")[2]: item.name for item in fields(cls)}

    @classmethod
    def from_section(cls, values: Mapping[str, Any] | None = None) -> Self:
        """From the section's mapping as in a config file (missing keys: the schema's
        defaults; an unknown key raises, naming it)."""
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise config_error(cls.SECTION, f"must be a mapping, got {values!r}", cls.ERROR)
        names = cls._names_by_key()
        unknown = sorted(set(values) - set(names))
        if unknown:
            where = f"{cls.SECTION}.{unknown[0]}" if cls.SECTION else unknown[0]
            raise config_error(where, f"is not a known key (known: {sorted(names)})", cls.ERROR)
        return cls(**{names[key]: value for key, value in values.items()})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """The section of a whole (or partial) config; absent sections take the defaults."""
        if not isinstance(config, Mapping):
            raise config_error(None, f"must be a mapping, got {type(config).__name__}", cls.ERROR)
        section: Any = config
        for part in cls.SECTION.split(".") if cls.SECTION else []:
            if not isinstance(section, Mapping):
                break
            section = section.get(part)
        return cls.from_section(section)

    @classmethod
    def coerce(cls, value: Self | Mapping[str, Any] | None) -> Self:
        """Ready settings as they are; a section mapping (or None: defaults) read."""
        return value if isinstance(value, cls) else cls.from_section(value)

    @classmethod
    def of(cls, settings: Self | Mapping[str, Any] | None = None, **values: Any) -> Self:
        """``settings`` (settings, a section mapping or None: the defaults) with the keyword
        ``values`` (config keys) on top: the way library classes take their options."""
        if not values:
            return cls.coerce(settings)
        return cls.from_section({**cls.coerce(settings).as_dict(), **values})

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (checked like the original)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The section as a config file holds it (config keys; lists, not tuples)."""
        return {
            self.key_of(item.name).rpartition(".")[2]: _plain(getattr(self, item.name))
            for item in fields(self)
        }


def _section_class(annotation: Any) -> type[SectionSettings] | None:
    if isinstance(annotation, type) and issubclass(annotation, SectionSettings):
        return annotation
    return None


# --------------------------------------------------------------------------------------------
# physiology, thermo, tfa, sampling


@dataclass(frozen=True)
class PhysiologySettings(SectionSettings):
    """``physiology``: temperature (K), cell density (gDW per litre of cell volume), small
    molecules (BiGG base ids) and, per compartment, pH, ionic strength (M), potential (mV)
    and default concentration bounds [low, high] (mol/L)."""

    SECTION: ClassVar[str] = "physiology"
    temperature_K: float = FROM_SCHEMA
    cell_density_gDW_per_L: float = FROM_SCHEMA
    small_molecules: tuple[str, ...] = FROM_SCHEMA
    compartments: Mapping[str, Mapping[str, Any]] = FROM_SCHEMA

    @property
    def rt(self) -> float:
        """RT in kJ/mol."""
        return GAS_CONSTANT_KJ_PER_MOL_K * self.temperature_K


@dataclass(frozen=True)
class ThermoSettings(SectionSettings):
    """``thermo``: the dG'0 confidence region (z_score), the largest usable standard error
    (kJ/mol) and reactions left without thermodynamic constraints."""

    SECTION: ClassVar[str] = "thermo"
    z_score: float = FROM_SCHEMA
    max_dg0_std_kJ: float = FROM_SCHEMA
    unconstrained_reactions: tuple[str, ...] = FROM_SCHEMA


@dataclass(frozen=True)
class TFASettings(SectionSettings):
    """``tfa``: big M and epsilon (kJ/mol), the growth floor as a fraction of the TFA optimum,
    whether to run variability analysis, and how the reference profile is chosen."""

    SECTION: ClassVar[str] = "tfa"
    big_m_kJ: float = FROM_SCHEMA
    epsilon_kJ: float = FROM_SCHEMA
    min_growth_fraction: float = FROM_SCHEMA
    variability: bool = FROM_SCHEMA
    directionality: str = FROM_SCHEMA

    def check(self) -> None:
        if not self.epsilon_kJ < self.big_m_kJ:
            raise self.error(
                "epsilon_kJ", f"{self.epsilon_kJ} must be below big_m_kJ = {self.big_m_kJ}"
            )


@dataclass(frozen=True)
class SamplingSettings(SectionSettings):
    """``sampling``: steady states per environment, sampler, thinning, the margins of active
    reactions (|dG| in kJ/mol, |v| in mmol/gDW/h), the reactions they bind in the reference
    (None: every constrained one) and worker processes."""

    SECTION: ClassVar[str] = "sampling"
    n_samples: int = FROM_SCHEMA
    sampler: str = FROM_SCHEMA
    thinning: int = FROM_SCHEMA
    min_abs_dg_kJ: float = FROM_SCHEMA
    min_abs_flux: float = FROM_SCHEMA
    margin_reactions: tuple[str, ...] | None = FROM_SCHEMA
    processes: int = FROM_SCHEMA


# --------------------------------------------------------------------------------------------
# the kinetic core


@dataclass(frozen=True)
class CoreSettings(SectionSettings):
    """``core``: the part of the model that becomes kinetic (subsystems, reactions to add or
    drop, products to reach by pathways), the currency metabolites the pathway search treats
    as available and the slack of the boundary reactions. Every list empty: no core, the
    whole model is kinetic (see :mod:`kinetigen.core`)."""

    SECTION: ClassVar[str] = "core"
    subsystems: tuple[str, ...] = FROM_SCHEMA
    add_reactions: tuple[str, ...] = FROM_SCHEMA
    drop_reactions: tuple[str, ...] = FROM_SCHEMA
    pathways_to: tuple[str, ...] = FROM_SCHEMA
    currency_metabolites: tuple[str, ...] = FROM_SCHEMA
    boundary_slack: float = FROM_SCHEMA

    @property
    def whole_model(self) -> bool:
        """No core configured: every reaction of the model is kinetic."""
        return not (self.selects or self.drop_reactions)

    @property
    def selects(self) -> bool:
        """Reactions are chosen (subsystems, additions or pathways); without, the core is the
        whole model less ``drop_reactions``."""
        return bool(self.subsystems or self.add_reactions or self.pathways_to)

    def check(self) -> None:
        both = sorted(set(self.add_reactions) & set(self.drop_reactions))
        if both:
            raise self.error("drop_reactions", f"also in core.add_reactions: {both}")


# --------------------------------------------------------------------------------------------
# kinetics


@dataclass(frozen=True)
class ThresholdSettings(SectionSettings):
    """``kinetics.threshold``: factor (None: derived from the return test) or a fixed
    threshold in 1/h."""

    SECTION: ClassVar[str] = "kinetics.threshold"
    factor: float | None = FROM_SCHEMA
    fixed_per_h: float | None = FROM_SCHEMA


@dataclass(frozen=True)
class SplitSettings(SectionSettings):
    """``kinetics.split``: training and evaluation steady states per environment."""

    SECTION: ClassVar[str] = "kinetics.split"
    n_train: int = FROM_SCHEMA
    n_evaluation: int = FROM_SCHEMA
    gap: int = FROM_SCHEMA


@dataclass(frozen=True)
class AttainabilitySettings(SectionSettings):
    """``kinetics.attainability``: the CMA-ES search over saturations."""

    SECTION: ClassVar[str] = "kinetics.attainability"
    max_evaluations: int = FROM_SCHEMA
    popsize: int | None = FROM_SCHEMA
    sigma0: float = FROM_SCHEMA


@dataclass(frozen=True)
class OracleSettings(SectionSettings):
    """``kinetics.oracle``: the ORACLE baseline's draws."""

    SECTION: ClassVar[str] = "kinetics.oracle"
    n_parameter_sets: int = FROM_SCHEMA
    batch_size: int = FROM_SCHEMA


@dataclass(frozen=True)
class SbmlSettings(SectionSettings):
    """``kinetics.sbml``: models exported per environment."""

    SECTION: ClassVar[str] = "kinetics.sbml"
    n_models: int = FROM_SCHEMA


@dataclass(frozen=True)
class KineticsSectionSettings(SectionSettings):
    """``kinetics``: Km bounds (mol/L), activity tolerance, boundary compartments, constant
    small molecules, device, and the sub-sections. The kinetic stage reads it together with
    the physiology as :class:`kinetigen.kinetics.KineticsSettings`."""

    SECTION: ClassVar[str] = "kinetics"
    km_bounds_M: tuple[float, float] = FROM_SCHEMA
    km_bounds_overrides_M: Mapping[str, tuple[float, float]] = FROM_SCHEMA
    active_flux_tol: float = FROM_SCHEMA
    boundary_compartments: tuple[str, ...] = FROM_SCHEMA
    constant_small_molecules: bool = FROM_SCHEMA
    threshold: ThresholdSettings = FROM_SCHEMA
    split: SplitSettings = FROM_SCHEMA
    attainability: AttainabilitySettings = FROM_SCHEMA
    oracle: OracleSettings = FROM_SCHEMA
    sbml: SbmlSettings = FROM_SCHEMA
    device: str = FROM_SCHEMA

    def check(self) -> None:
        bounds = {"km_bounds_M": self.km_bounds_M}
        bounds.update(
            {f"km_bounds_overrides_M.{n}": b for n, b in self.km_bounds_overrides_M.items()}
        )
        for name, (low, high) in bounds.items():
            if not low < high:
                raise config_error(
                    f"{self.SECTION}.{name}", f"needs low < high, got [{low}, {high}]", self.ERROR
                )


# --------------------------------------------------------------------------------------------
# generator and training


@dataclass(frozen=True)
class GeneratorSettings(SectionSettings):
    """``generator``: the network (latent size, condition size and features, hidden widths,
    conditioning, activation, output-layer scale)."""

    SECTION: ClassVar[str] = "generator"
    latent_dim: int = FROM_SCHEMA
    condition_dim: int = FROM_SCHEMA
    condition_features: tuple[str, ...] = FROM_SCHEMA
    hidden: tuple[int, ...] = FROM_SCHEMA
    conditioning: str = FROM_SCHEMA
    activation: str = FROM_SCHEMA
    output_init_scale: float = FROM_SCHEMA


@dataclass(frozen=True)
class TRNESSettings(SectionSettings):
    """``training.trnes``: the trust-region NES (see :class:`kinetigen.es.TrustRegionNES`)."""

    SECTION: ClassVar[str] = "training.trnes"
    population_size: int = FROM_SCHEMA
    models_per_member: int = FROM_SCHEMA
    sigma0: float = FROM_SCHEMA
    eta_mean: float = FROM_SCHEMA
    eta_sigma: float | None = FROM_SCHEMA
    kl_mean_per_weight: float = FROM_SCHEMA
    kl_sigma_per_weight: float = FROM_SCHEMA
    radius: float = FROM_SCHEMA
    radius_min: float = FROM_SCHEMA
    radius_max: float = FROM_SCHEMA
    radius_shrink: float = FROM_SCHEMA
    radius_grow: float = FROM_SCHEMA
    sigma_factor_min: float = FROM_SCHEMA
    sigma_factor_max: float = FROM_SCHEMA
    acceptance_models: int | None = FROM_SCHEMA
    acceptance_k: float = FROM_SCHEMA
    growth_k: float = FROM_SCHEMA
    acceptance_per_objective: bool = FROM_SCHEMA

    def check(self) -> None:
        if self.population_size % 2:
            raise self.error(
                "population_size", f"must be even (antithetic pairs), got {self.population_size}"
            )
        if not self.radius_min <= self.radius <= self.radius_max:
            raise self.error(
                "radius",
                f"needs radius_min <= radius <= radius_max, got {self.radius_min}, "
                f"{self.radius}, {self.radius_max}",
            )


@dataclass(frozen=True)
class _RenaissanceUpdate(SectionSettings):
    """The keys that ``training.renaissance`` and ``training.renaissance-ours`` share."""

    population_size: int = FROM_SCHEMA
    models_per_member: int = FROM_SCHEMA
    sigma: float = FROM_SCHEMA
    learning_rate: float = FROM_SCHEMA
    decay: float = FROM_SCHEMA
    common_batch: bool = FROM_SCHEMA


@dataclass(frozen=True)
class RenaissanceSettings(_RenaissanceUpdate):
    """``training.renaissance``: RENAISSANCE's optimiser with the published defaults."""

    SECTION: ClassVar[str] = "training.renaissance"
    reward: str = FROM_SCHEMA
    n_consider: int = FROM_SCHEMA


@dataclass(frozen=True)
class RenaissanceOursSettings(_RenaissanceUpdate):
    """``training.renaissance-ours``: RENAISSANCE's update with kinetigen's reward."""

    SECTION: ClassVar[str] = "training.renaissance-ours"


@dataclass(frozen=True)
class SepCMASettings(SectionSettings):
    """``training.sep-cma``: separable CMA-ES (pycma)."""

    SECTION: ClassVar[str] = "training.sep-cma"
    population_size: int = FROM_SCHEMA
    models_per_member: int = FROM_SCHEMA
    sigma0: float = FROM_SCHEMA


@dataclass(frozen=True)
class BenchmarkSettings(SectionSettings):
    """``training.benchmark``: the stability benchmark (methods, seeds, budget, monitor)."""

    SECTION: ClassVar[str] = "training.benchmark"
    methods: tuple[str, ...] = FROM_SCHEMA
    seeds: int = FROM_SCHEMA
    first_seed: int = FROM_SCHEMA
    max_model_evaluations: int = FROM_SCHEMA
    monitor_models: int = FROM_SCHEMA
    report_at: tuple[int, ...] = FROM_SCHEMA
    target: float = FROM_SCHEMA


MethodSettings = TRNESSettings | RenaissanceSettings | RenaissanceOursSettings | SepCMASettings


@dataclass(frozen=True)
class TrainingSettings(SectionSettings):
    """``training``: mode, environments, runs, stop criteria, reward tie-breaker, threads and
    one sub-section per optimiser (:meth:`method`)."""

    SECTION: ClassVar[str] = "training"
    mode: str = FROM_SCHEMA
    heldout: tuple[str, ...] = FROM_SCHEMA
    methods: tuple[str, ...] = FROM_SCHEMA
    seeds: tuple[int, ...] = FROM_SCHEMA
    per_environment: bool = FROM_SCHEMA
    max_generations: int = FROM_SCHEMA
    max_model_evaluations: int | None = FROM_SCHEMA
    checkpoint_every: int = FROM_SCHEMA
    tie_weight: float = FROM_SCHEMA
    tie_breaker: str = FROM_SCHEMA
    tie_scale: float = FROM_SCHEMA
    final_models: int = FROM_SCHEMA
    threads: int = FROM_SCHEMA
    trnes: TRNESSettings = FROM_SCHEMA
    renaissance: RenaissanceSettings = FROM_SCHEMA
    renaissance_ours: RenaissanceOursSettings = keyed("training.renaissance-ours")
    sep_cma: SepCMASettings = keyed("training.sep-cma")
    benchmark: BenchmarkSettings = FROM_SCHEMA

    def method(self, name: str) -> MethodSettings:
        """The settings of optimiser ``name`` (its sub-section, e.g. ``sep-cma``)."""
        value = getattr(self, self._names_by_key().get(name, ""), None)
        if not isinstance(value, MethodSettings):
            raise config_error(f"{self.SECTION}.{name}", "is not a training method", self.ERROR)
        return value


# --------------------------------------------------------------------------------------------
# validation


class BioreactorConfigError(ConfigError):
    """A ``validation.bioreactor`` config value is missing, unknown or out of range."""


@dataclass(frozen=True)
class BioreactorSettings(SectionSettings):
    """``validation.bioreactor``: settings of the batch simulation.

    Attributes
    ----------
    environment, n_models : what the workflow rule simulates (the functions here do not read
        them): the environment's kinetic model and how many generated models.
    initial_biomass_gDW_per_L : X0 (gDW/L).
    substrate : metabolite id whose exhaustion ends the run; None picks the dynamic
        extracellular metabolite with the largest uptake (the main carbon source).
    exhaustion_fraction : the run ends when the substrate falls below this fraction of its
        start value.
    max_time_h : the run ends here at the latest (h).
    constant_metabolites : BiGG base ids that the medium holds constant (gases, buffered ions).
    extracellular_compartment : compartment id of the medium.
    method : scipy stiff solver (BDF, Radau, LSODA).
    rtol, atol_fraction : relative tolerance; absolute tolerance of each state as a fraction
        of its start value.
    n_time_points : evenly spaced rows per model in the time course.
    max_rhs_evaluations : a run that needs more right-hand-side evaluations is stopped and
        reported (keeps a pathological model from stalling an ensemble).
    processes : worker processes for ensembles (1 = in the calling process).
    """

    SECTION: ClassVar[str] = "validation.bioreactor"
    ERROR: ClassVar[type[ValueError]] = BioreactorConfigError
    environment: str = FROM_SCHEMA
    n_models: int = FROM_SCHEMA
    initial_biomass_gDW_per_L: float = FROM_SCHEMA
    substrate: str | None = FROM_SCHEMA
    exhaustion_fraction: float = FROM_SCHEMA
    max_time_h: float = FROM_SCHEMA
    constant_metabolites: tuple[str, ...] = FROM_SCHEMA
    extracellular_compartment: str = FROM_SCHEMA
    method: str = FROM_SCHEMA
    rtol: float = FROM_SCHEMA
    atol_fraction: float = FROM_SCHEMA
    n_time_points: int = FROM_SCHEMA
    max_rhs_evaluations: int = FROM_SCHEMA
    processes: int = FROM_SCHEMA

    def check(self) -> None:
        for name in ("initial_biomass_gDW_per_L", "max_time_h", "atol_fraction"):
            value = getattr(self, name)
            if not math.isfinite(value):  # beyond what JSON Schema can say
                raise self.error(name, f"must be finite, got {value!r}")


@dataclass(frozen=True)
class ValidationSettings(SectionSettings):
    """``validation``: which generator, group sizes, perturbation magnitudes and repeats, the
    return criterion (tolerance, return time in doubling times), trajectories, processes and
    the bioreactor."""

    SECTION: ClassVar[str] = "validation"
    method: str = FROM_SCHEMA
    n_generated: int = FROM_SCHEMA
    n_control: int = FROM_SCHEMA
    magnitudes: tuple[float, ...] = FROM_SCHEMA
    n_perturbations: int = FROM_SCHEMA
    tolerance: float = FROM_SCHEMA
    return_time_factor: float = FROM_SCHEMA
    trajectory_models: int = FROM_SCHEMA
    processes: int = FROM_SCHEMA
    bioreactor: BioreactorSettings = FROM_SCHEMA

    @property
    def threshold_factor(self) -> float:
        """The smallest threshold factor for which every valid model passes the return test
        at every magnitude in linear theory: ln(max magnitude / tolerance) / return time
        factor (see :mod:`kinetigen.kinetics.validity`)."""
        p_max = max(self.magnitudes)
        if not self.tolerance < p_max:
            raise self.error(
                "tolerance",
                f"{self.tolerance} must be below the largest of validation.magnitudes ({p_max})",
            )
        return math.log(p_max / self.tolerance) / self.return_time_factor


# --------------------------------------------------------------------------------------------
# analysis


@dataclass(frozen=True)
class FiniteDifferenceSettings(SectionSettings):
    """``analysis.finite_difference``: the sample checked against finite differences of the
    nonlinear model (models per group, enzymes per model, relative Vmax step)."""

    SECTION: ClassVar[str] = "analysis.finite_difference"
    models: int = FROM_SCHEMA
    enzymes: int = FROM_SCHEMA
    step: float = FROM_SCHEMA


@dataclass(frozen=True)
class AnalysisSettings(SectionSettings):
    """``analysis``: control coefficients (models per group, extra fluxes of interest) and
    enzyme perturbation studies (changes, models per group, horizon in doubling times,
    settling tolerance), figure size and the finite-difference check."""

    SECTION: ClassVar[str] = "analysis"
    n_models: int = FROM_SCHEMA
    fluxes: tuple[str, ...] = FROM_SCHEMA
    perturbations: tuple[Mapping[str, Any], ...] = FROM_SCHEMA
    perturbation_models: int = FROM_SCHEMA
    horizon_doubling_times: float = FROM_SCHEMA
    settle_tolerance: float = FROM_SCHEMA
    top_enzymes: int = FROM_SCHEMA
    finite_difference: FiniteDifferenceSettings = FROM_SCHEMA


# --------------------------------------------------------------------------------------------
# the whole config


@dataclass(frozen=True)
class WorkflowSettings(SectionSettings):
    """Every section of a config. ``environments`` are the environments' config entries
    (reaction bounds, concentrations, measured fluxes; checked by the schema, and against
    the model by :func:`kinetigen.config.check_against_model`); a partial config (a rule's
    params) may leave them out."""

    SECTION: ClassVar[str] = ""
    model: str = FROM_SCHEMA
    biomass_reaction: str = FROM_SCHEMA
    solver: str = FROM_SCHEMA
    seed: int = FROM_SCHEMA
    run_environments: tuple[str, ...] = FROM_SCHEMA
    physiology: PhysiologySettings = FROM_SCHEMA
    thermo: ThermoSettings = FROM_SCHEMA
    tfa: TFASettings = FROM_SCHEMA
    sampling: SamplingSettings = FROM_SCHEMA
    core: CoreSettings = FROM_SCHEMA
    kinetics: KineticsSectionSettings = FROM_SCHEMA
    generator: GeneratorSettings = FROM_SCHEMA
    training: TrainingSettings = FROM_SCHEMA
    validation: ValidationSettings = FROM_SCHEMA
    analysis: AnalysisSettings = FROM_SCHEMA
    environments: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, metadata={"may_be_empty": True}
    )


SECTIONS: tuple[type[SectionSettings], ...] = (
    WorkflowSettings,
    PhysiologySettings,
    ThermoSettings,
    TFASettings,
    SamplingSettings,
    CoreSettings,
    KineticsSectionSettings,
    ThresholdSettings,
    SplitSettings,
    AttainabilitySettings,
    OracleSettings,
    SbmlSettings,
    GeneratorSettings,
    TrainingSettings,
    TRNESSettings,
    RenaissanceSettings,
    RenaissanceOursSettings,
    SepCMASettings,
    BenchmarkSettings,
    ValidationSettings,
    BioreactorSettings,
    AnalysisSettings,
    FiniteDifferenceSettings,
)
