"""The settings classes and the schema agree: the schema is the one home of every key.

`kinetigen.settings.section` makes the fields from the schema; these tests read the schema
on their own (JSON type -> Python type) and check what it made."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

import pytest

from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.schema import ConfigError, load_schema, schema_defaults, subschema
from kinetigen.settings import (
    FROM_SCHEMA,
    SECTIONS,
    AnalysisSettings,
    BioreactorSettings,
    KineticsSectionSettings,
    SamplingSettings,
    SectionSettings,
    TFASettings,
    ThresholdSettings,
    TrainingSettings,
    TRNESSettings,
    WorkflowSettings,
    section,
)

# JSON Schema type -> the Python type a settings field holds
PYTHON_TYPES = {"number": float, "integer": int, "boolean": bool, "string": str}


def _sections_in_schema(node: dict, key: str = "") -> list[str]:
    """Every config key whose schema is an object with named properties (a section)."""
    found = [key] if "properties" in node else []
    for name, child in node.get("properties", {}).items():
        found += _sections_in_schema(child, f"{key}.{name}" if key else name)
    return found


def _expected_type(schema: dict) -> tuple[type, bool]:
    """(python type, may be None) of a leaf key's schema."""
    kinds = schema["type"] if isinstance(schema.get("type"), list) else [schema.get("type")]
    nullable = "null" in kinds
    kind = next(k for k in kinds if k != "null")
    if kind == "array":
        return tuple, nullable
    if kind == "object":
        return Mapping, nullable
    return PYTHON_TYPES[kind], nullable


def _annotation(hint) -> tuple[type, bool]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _annotation(inner[0])[0], True
    if origin is not None:
        return (Mapping if origin in (dict, Mapping) else origin), False
    return hint, False


def test_every_schema_section_has_exactly_one_settings_class():
    classes = {cls.SECTION: cls for cls in SECTIONS}
    assert len(classes) == len(SECTIONS)
    assert sorted(classes) == sorted(_sections_in_schema(load_schema()))


@pytest.mark.parametrize("cls", SECTIONS, ids=lambda cls: cls.__name__)
def test_fields_are_the_section_keys_with_the_schema_types(cls: type[SectionSettings]):
    hints = typing.get_type_hints(cls)
    keys = [cls.key_of(f.name) for f in dataclasses.fields(cls)]
    section = subschema(cls.SECTION)
    prefix = f"{cls.SECTION}." if cls.SECTION else ""
    assert sorted(keys) == sorted(prefix + name for name in section["properties"])
    for item in dataclasses.fields(cls):
        key, hint = cls.key_of(item.name), hints[item.name]
        node = subschema(key)
        if "properties" in node:  # a sub-section: its own settings class
            assert isinstance(hint, type) and issubclass(hint, SectionSettings)
            assert hint.SECTION == key
            continue
        # defaults live in the schema only
        assert item.default is FROM_SCHEMA or key == "environments", key
        assert _annotation(hint) == _expected_type(node), key


def test_fields_are_in_schema_order_and_keys_that_are_not_names_are_mapped():
    # `section` makes the fields; their order is the schema's (as_dict, repr, __init__)
    for cls in SECTIONS:
        as_keys = [cls.key_of(f.name).rpartition(".")[2] for f in dataclasses.fields(cls)]
        assert as_keys == list(subschema(cls.SECTION)["properties"]), cls.__name__
    assert TrainingSettings.key_of("sep_cma") == "training.sep-cma"
    assert "renaissance-ours" in TrainingSettings().as_dict()


def test_annotations_that_decide_how_values_are_stored():
    # the element types the stored values are coerced to (bounds as float pairs, ...)
    hints = typing.get_type_hints(KineticsSectionSettings)
    assert hints["km_bounds_M"] == tuple[float, float]
    assert hints["km_bounds_overrides_M"] == Mapping[str, tuple[float, float]]
    assert hints["threshold"] is ThresholdSettings
    assert typing.get_type_hints(AnalysisSettings)["perturbations"] == tuple[Mapping[str, Any], ...]
    assert typing.get_type_hints(SamplingSettings)["margin_reactions"] == tuple[str, ...] | None
    assert typing.get_type_hints(BioreactorSettings)["substrate"] == str | None
    kinetics = KineticsSectionSettings(km_bounds_overrides_M={"Km_A": [1e-6, 1]})
    assert kinetics.km_bounds_overrides_M["Km_A"] == (1e-6, 1.0)


def test_a_written_field_must_be_a_key_of_its_section():
    with pytest.raises(TypeError, match=r"\['bigm'\] are not keys of section 'tfa'"):

        @section("tfa")
        class _Wrong(SectionSettings):
            bigm: float = 1.0


@pytest.mark.parametrize(
    "cls", [c for c in SECTIONS if c is not WorkflowSettings], ids=lambda c: c.__name__
)
def test_defaults_are_the_schema_defaults(cls: type[SectionSettings]):
    assert cls().as_dict() == schema_defaults(cls.SECTION)
    assert cls.from_config({}) == cls()


def test_workflow_settings_from_the_default_config(default_config):
    settings = WorkflowSettings.from_config(default_config)
    assert settings.training.method("sep-cma") is settings.training.sep_cma
    assert settings.tfa.min_growth_fraction == default_config["tfa"]["min_growth_fraction"]
    assert list(settings.environments) == list(default_config["environments"])
    kinetics = KineticsSettings.from_config(settings)
    assert kinetics == KineticsSettings.from_config(default_config)
    assert kinetics.threshold_factor == pytest.approx(math.log(0.5 / 0.01))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TFASettings(min_growth_fraction=0.0), r"'tfa.min_growth_fraction'"),
        (lambda: TFASettings(epsilon_kJ=2000.0), r"'tfa.epsilon_kJ': .*big_m_kJ"),
        (lambda: TFASettings.from_section({"bigm": 1}), r"'tfa.bigm': is not a known key"),
        (lambda: TRNESSettings(population_size=7), r"'training.trnes.population_size'.*even"),
        (lambda: TRNESSettings(acceptance_models=1), r"'training.trnes.acceptance_models'"),
        (lambda: TrainingSettings().method("sep_cma"), r"'training.sep_cma'"),
        (
            lambda: TrainingSettings.from_section({"sep-cma": {"sigma0": -1}}),
            r"^config key 'training.sep-cma.sigma0': ",
        ),
        (lambda: BioreactorSettings(max_time_h=math.inf), r"max_time_h': .*finite"),
    ],
)
def test_bad_values_name_their_key_in_one_format(build, message):
    with pytest.raises(ConfigError, match=message) as error:
        build()
    assert str(error.value).startswith("config key '")


def test_values_are_stored_as_their_annotated_types():
    settings = BioreactorSettings.from_section({"max_time_h": 12, "constant_metabolites": ["o2"]})
    assert settings.max_time_h == 12.0 and isinstance(settings.max_time_h, float)
    assert settings.constant_metabolites == ("o2",)
    assert settings.replace(n_time_points=5).n_time_points == 5
    assert BioreactorSettings.of(settings, rtol=1e-4).max_time_h == 12.0
