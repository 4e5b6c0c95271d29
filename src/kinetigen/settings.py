"""Typed settings: one frozen dataclass per config section, built from the schema.

The schema (:mod:`kinetigen.schema`) is the one home of every key's default, type, range and
description; these classes hold no copy of them. :func:`section` makes each class's fields from
its section's keys in the schema (the annotations from the JSON types), so a class holds only
its docstring, its :meth:`~SectionSettings.check` and its derived properties. A field left out
takes the schema's default (:data:`FROM_SCHEMA`), every value is checked against its key's part
of the schema (errors name the key, ``config key 'tfa.big_m_kJ': ...``) and stored as the
annotated type (lists become tuples, YAML's ``12`` becomes ``12.0`` for a float). ``check``
adds what JSON Schema cannot say (relations between keys). A test checks the fields and their
types against the schema, read independently.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self, TypeVar

from kinetigen.schema import (
    ConfigError,
    check_value,
    config_error,
    resolved,
    schema_defaults,
    subschema,
)

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
    """Base of the section classes: the fields are the keys of config section ``SECTION``
    (made by :func:`section`)."""

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
# the fields of a section, made from the schema

# JSON Schema type -> the Python type a value is stored as (see _coerce)
_JSON_TYPES: dict[str, type] = {"number": float, "integer": int, "boolean": bool, "string": str}

# The settings class of every section made so far, by config key: a sub-section becomes a field
# of its class, so a section's class is made after those of its sub-sections.
_SECTION_CLASSES: dict[str, type[SectionSettings]] = {}

S = TypeVar("S", bound=SectionSettings)


def _python_type(node: dict[str, Any]) -> Any:
    """The annotation of a value of schema ``node``: number -> float, integer -> int, boolean
    -> bool, string -> str, array -> tuple (``tuple[X, X]`` for a fixed length such as [low,
    high] bounds, else ``tuple[X, ...]``), object -> ``Mapping[str, X]`` (X from its
    ``additionalProperties``; Any for named keys) and a nullable type -> ``X | None``."""
    node = resolved(node)
    kinds = node.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    (kind,) = [kind for kind in kinds if kind != "null"]  # one type (or it and null)
    if kind == "array":
        item = _python_type(node["items"]) if "items" in node else Any
        length = node.get("minItems")
        fixed = length is not None and length == node.get("maxItems")
        annotation: Any = tuple[(item,) * length] if fixed else tuple[item, ...]
    elif kind == "object":
        values = node.get("additionalProperties")
        annotation = Mapping[str, _python_type(values) if isinstance(values, Mapping) else Any]
    else:
        annotation = _JSON_TYPES[kind]
    return annotation | None if "null" in kinds else annotation


def section(key: str) -> Callable[[type[S]], type[S]]:
    """Class decorator: the class as the frozen settings dataclass of config section ``key``
    ("tfa", "training.sep-cma"; "" for the whole config), with one field per key of the
    section in the schema, in the schema's order:

    * a key with sub-keys (a sub-section) holds its own settings class (made before);
    * any other key is annotated with the Python type of its schema (:func:`_python_type`)
      and defaults to :data:`FROM_SCHEMA`;
    * a key that is not a Python name (``sep-cma``) becomes field ``sep_cma``, read from and
      written to that key (:func:`keyed`).

    A field written in the class body is kept as written (for a default that is not the
    schema's, such as ``WorkflowSettings.environments``); it must be a key of the section."""

    def build(cls: type[S]) -> type[S]:
        cls.SECTION = key
        written = dict(cls.__dict__.get("__annotations__", {}))
        made: dict[str, Any] = {}
        for part in subschema(key)["properties"]:
            name = part.replace("-", "_")
            if not name.isidentifier():
                raise TypeError(f"config key {part!r} of {key!r} has no field name")
            if name in written:
                made[name] = written.pop(name)
                continue
            made[name] = _field_type(_join(key, part))
            setattr(cls, name, FROM_SCHEMA if name == part else keyed(_join(key, part)))
        cls.__annotations__ = {**written, **made}  # what is left written: ClassVars
        settings = dataclass(frozen=True)(cls)
        extra = [item.name for item in fields(settings) if item.name not in made]
        if extra:
            raise TypeError(f"{cls.__name__}: {extra} are not keys of section {key!r}")
        _SECTION_CLASSES[key] = settings
        return settings

    return build


def _join(section_key: str, part: str) -> str:
    return f"{section_key}.{part}" if section_key else part


def _field_type(key: str) -> Any:
    """The annotation of config key ``key``'s field: its sub-section's class or its type."""
    node = subschema(key)
    if "properties" not in node:
        return _python_type(node)
    if key not in _SECTION_CLASSES:
        raise TypeError(f"the settings class of section {key!r} must be made before its parent")
    return _SECTION_CLASSES[key]


# --------------------------------------------------------------------------------------------
# physiology, thermo, tfa, sampling


@section("physiology")
class PhysiologySettings(SectionSettings):
    """``physiology``: temperature (K), cell density (gDW per litre of cell volume), small
    molecules (BiGG base ids) and, per compartment, pH, ionic strength (M), potential (mV)
    and default concentration bounds [low, high] (mol/L)."""

    @property
    def rt(self) -> float:
        """RT in kJ/mol."""
        return GAS_CONSTANT_KJ_PER_MOL_K * self.temperature_K


@section("thermo")
class ThermoSettings(SectionSettings):
    """``thermo``: the dG'0 confidence region (z_score), the largest usable standard error
    (kJ/mol) and reactions left without thermodynamic constraints."""


@section("tfa")
class TFASettings(SectionSettings):
    """``tfa``: big M and epsilon (kJ/mol), the growth floor as a fraction of the TFA optimum,
    whether to run variability analysis, and how the reference profile is chosen."""

    def check(self) -> None:
        if not self.epsilon_kJ < self.big_m_kJ:
            raise self.error(
                "epsilon_kJ", f"{self.epsilon_kJ} must be below big_m_kJ = {self.big_m_kJ}"
            )


@section("sampling")
class SamplingSettings(SectionSettings):
    """``sampling``: steady states per environment, sampler, thinning, the margins of active
    reactions (|dG| in kJ/mol, |v| in mmol/gDW/h), the reactions they bind in the reference
    (None: every constrained one) and worker processes."""


# --------------------------------------------------------------------------------------------
# the kinetic core


@section("core")
class CoreSettings(SectionSettings):
    """``core``: the part of the model that becomes kinetic (subsystems, reactions to add or
    drop, products to reach by pathways), the currency metabolites the pathway search treats
    as available and the slack of the boundary reactions. Every list empty: no core, the
    whole model is kinetic (see :mod:`kinetigen.core`)."""

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


@section("kinetics.threshold")
class ThresholdSettings(SectionSettings):
    """``kinetics.threshold``: factor (None: derived from the return test) or a fixed
    threshold in 1/h."""


@section("kinetics.split")
class SplitSettings(SectionSettings):
    """``kinetics.split``: training and evaluation steady states per environment."""


@section("kinetics.attainability")
class AttainabilitySettings(SectionSettings):
    """``kinetics.attainability``: the CMA-ES search over saturations."""


@section("kinetics.pool_turnover")
class PoolTurnoverSettings(SectionSettings):
    """``kinetics.pool_turnover``: the slow-pool screen of the sampled steady states."""


@section("kinetics.oracle")
class OracleSettings(SectionSettings):
    """``kinetics.oracle``: the ORACLE baseline's draws."""


@section("kinetics.sbml")
class SbmlSettings(SectionSettings):
    """``kinetics.sbml``: models exported per environment."""


@section("kinetics.km_prior")
class KmPriorSettings(SectionSettings):
    """``kinetics.km_prior``: the log-normal prior on Km (kind ``none``: no prior)."""

    @property
    def enabled(self) -> bool:
        return self.kind != "none"


@dataclass(frozen=True)
class MeasuredKm:
    """One entry of ``kinetics.measured_km``: the Km of ``metabolite`` in ``reaction`` lies in
    [low_M, high_M] (mol/L; equal for a fixed value), from ``source``. ``key`` is its config
    key (``kinetics.measured_km[2]``), for error messages."""

    reaction: str
    metabolite: str
    low_M: float
    high_M: float
    source: str
    key: str

    @property
    def name(self) -> str:
        """The parameter's name, ``km_<reaction>_<metabolite>``."""
        return f"km_{self.reaction}_{self.metabolite}"

    @property
    def fixed(self) -> bool:
        return self.low_M == self.high_M

    def describe(self) -> str:
        """'Km of <metabolite> in <reaction>' for messages."""
        return f"Km of {self.metabolite!r} in {self.reaction!r} ({self.name})"

    @classmethod
    def from_entry(
        cls, entry: Mapping[str, Any], index: int, error: type[ValueError] = ConfigError
    ) -> MeasuredKm:
        """From config entry ``index`` of ``kinetics.measured_km`` (schema-checked already):
        exactly one of value_M and range_M, positive, low <= high; else ``error``."""
        key = f"kinetics.measured_km[{index}]"
        what = f"Km of {entry['metabolite']!r} in {entry['reaction']!r}"
        if ("value_M" in entry) == ("range_M" in entry):
            raise config_error(key, f"{what}: give exactly one of value_M and range_M", error)
        low, high = (entry["value_M"],) * 2 if "value_M" in entry else entry["range_M"]
        if not (low > 0 and high > 0):
            raise config_error(
                key, f"{what}: must be positive (mol/L), got {_km_text(entry)}", error
            )
        if not low <= high:
            raise config_error(
                key, f"{what}: range_M needs low <= high, got [{low}, {high}]", error
            )
        return cls(
            entry["reaction"], entry["metabolite"], float(low), float(high), entry["source"], key
        )


def _km_text(entry: Mapping[str, Any]) -> str:
    return f"value_M {entry['value_M']}" if "value_M" in entry else f"range_M {entry['range_M']}"


@section("kinetics")
class KineticsSectionSettings(SectionSettings):
    """``kinetics``: Km bounds (mol/L), activity tolerance, boundary compartments, constant
    small molecules, device, and the sub-sections. The kinetic stage reads it together with
    the physiology as :class:`kinetigen.kinetics.KineticsSettings`."""

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
        low, high = self.km_bounds_M
        if self.km_prior.enabled and not low <= self.km_prior.median_M <= high:
            raise config_error(
                f"{self.SECTION}.km_prior.median_M",
                f"{self.km_prior.median_M:g} M lies outside kinetics.km_bounds_M "
                f"[{low:g}, {high:g}] M",
                self.ERROR,
            )
        self.measured()

    def measured(self) -> tuple[MeasuredKm, ...]:
        """The measured Km, each checked: one per parameter, inside the parameter's bounds
        (its km_bounds_overrides_M entry, else km_bounds_M)."""
        measured: dict[str, MeasuredKm] = {}
        for index, entry in enumerate(self.measured_km):
            item = MeasuredKm.from_entry(entry, index, self.ERROR)
            if item.name in measured:
                raise config_error(
                    item.key, f"{item.describe()} is also {measured[item.name].key}", self.ERROR
                )
            override = item.name in self.km_bounds_overrides_M
            low, high = self.km_bounds_overrides_M.get(item.name, self.km_bounds_M)
            if not low <= item.low_M <= item.high_M <= high:
                where = f"km_bounds_overrides_M.{item.name}" if override else "km_bounds_M"
                raise config_error(
                    item.key,
                    f"{item.describe()}: [{item.low_M:g}, {item.high_M:g}] M lies outside the "
                    f"bounds [{low:g}, {high:g}] M of kinetics.{where}",
                    self.ERROR,
                )
            measured[item.name] = item
        return tuple(measured.values())


# --------------------------------------------------------------------------------------------
# generator and training


@section("generator")
class GeneratorSettings(SectionSettings):
    """``generator``: the network (latent size, condition size and features, hidden widths,
    conditioning, activation, output-layer scale) and what its output parametrises."""

    def check(self) -> None:
        low, high = self.saturation_range
        if not low < high:
            raise self.error("saturation_range", f"needs low < high, got [{low}, {high}]")


@section("training.trnes")
class TRNESSettings(SectionSettings):
    """``training.trnes``: the trust-region NES (see :class:`kinetigen.es.TrustRegionNES`)."""

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


@section("training.renaissance")
class RenaissanceSettings(SectionSettings):
    """``training.renaissance``: RENAISSANCE's optimiser with the published defaults."""


@section("training.renaissance-ours")
class RenaissanceOursSettings(SectionSettings):
    """``training.renaissance-ours``: RENAISSANCE's update with kinetigen's reward."""


@section("training.sep-cma")
class SepCMASettings(SectionSettings):
    """``training.sep-cma``: separable CMA-ES (pycma)."""


@section("training.benchmark")
class BenchmarkSettings(SectionSettings):
    """``training.benchmark``: the stability benchmark (methods, seeds, budget, monitor)."""


@section("training.adaptation")
class AdaptationSettings(SectionSettings):
    """``training.adaptation``: which held-out environments a trained generator is fine-tuned
    to (rule adapt), from which run, with what search width, budget, monitor and target."""


MethodSettings = TRNESSettings | RenaissanceSettings | RenaissanceOursSettings | SepCMASettings


@section("training.km_regulariser")
class KmRegulariserSettings(SectionSettings):
    """``training.km_regulariser``: the reward's penalty on implausible Km (weight 0: off)."""

    def check(self) -> None:
        low, high = self.saturation_range
        if not low < high:
            raise self.error("saturation_range", f"needs low < high, got [{low}, {high}]")


@section("training")
class TrainingSettings(SectionSettings):
    """``training``: mode, environments, runs, stop criteria, reward tie-breaker, threads and
    one sub-section per optimiser (:meth:`method`)."""

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


@section("validation.bioreactor")
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

    ERROR: ClassVar[type[ValueError]] = BioreactorConfigError

    def check(self) -> None:
        for name in ("initial_biomass_gDW_per_L", "max_time_h", "atol_fraction"):
            value = getattr(self, name)
            if not math.isfinite(value):  # beyond what JSON Schema can say
                raise self.error(name, f"must be finite, got {value!r}")


@section("validation")
class ValidationSettings(SectionSettings):
    """``validation``: which generator, group sizes, perturbation magnitudes and repeats, the
    return criterion (tolerance, return time in doubling times), trajectories, processes and
    the bioreactor."""

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


@section("analysis.finite_difference")
class FiniteDifferenceSettings(SectionSettings):
    """``analysis.finite_difference``: the sample checked against finite differences of the
    nonlinear model (models per group, enzymes per model, relative Vmax step)."""


@section("analysis")
class AnalysisSettings(SectionSettings):
    """``analysis``: control coefficients (models per group, extra fluxes of interest) and
    enzyme perturbation studies (changes, models per group, horizon in doubling times,
    settling tolerance), figure size and the finite-difference check."""


# --------------------------------------------------------------------------------------------
# the whole config


@section("")
class WorkflowSettings(SectionSettings):
    """Every section of a config. ``environments`` are the environments' config entries
    (reaction bounds, concentrations, measured fluxes; checked by the schema, and against
    the model by :func:`kinetigen.config.check_against_model`); a partial config (a rule's
    params) may leave them out."""

    environments: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, metadata={"may_be_empty": True}
    )

    def check(self) -> None:
        """The options that read the Km prior need it (``kinetics.km_prior.kind``); Km in
        saturation space depend on the steady state, so they cannot be shared by environments."""
        if self.generator.output_space == "saturation" and self.training.mode == "shared":
            raise config_error(
                "generator.output_space",
                "'saturation' (the default) needs training.mode conditional (shared Km sets "
                "are one per enzyme for every environment, saturations are per steady state); "
                "set generator.output_space: ln_km for training.mode shared",
                self.ERROR,
            )
        if self.kinetics.km_prior.enabled:
            return
        if self.generator.output_range == "prior":
            raise config_error(
                "generator.output_range",
                "'prior' needs kinetics.km_prior.kind lognormal (it is 'none')",
                self.ERROR,
            )
        regulariser = self.training.km_regulariser
        if regulariser.weight > 0 and regulariser.kind == "prior":
            raise config_error(
                "training.km_regulariser.kind",
                "'prior' needs kinetics.km_prior.kind lognormal (it is 'none')",
                self.ERROR,
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
    PoolTurnoverSettings,
    OracleSettings,
    SbmlSettings,
    KmPriorSettings,
    GeneratorSettings,
    TrainingSettings,
    KmRegulariserSettings,
    TRNESSettings,
    RenaissanceSettings,
    RenaissanceOursSettings,
    SepCMASettings,
    BenchmarkSettings,
    AdaptationSettings,
    ValidationSettings,
    BioreactorSettings,
    AnalysisSettings,
    FiniteDifferenceSettings,
)
