"""The config schema, shipped with the package, and the one format of every config error.

``kinetigen/schemas/config.schema.yaml`` (JSON Schema draft 2020-12; ``workflow/schemas/``
links to it) is the single home of every config key's type, range, default and description.
It is read through :mod:`importlib.resources`, so an installed package finds it as an editable
checkout does. :func:`validate_schema` checks a config and fills in the defaults, as
``snakemake.utils.validate(config, schema, set_default=True)`` does; :func:`check_value`
checks one value against its key's part of the schema (for settings built in code).

Every config error message has one form, made by :func:`config_error`::

    config key 'tfa.min_growth_fraction': 1.5 is greater than the maximum of 1
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import jsonschema
import yaml
from jsonschema import validators

SCHEMA_PACKAGE = "kinetigen"
SCHEMA_FILE = "schemas/config.schema.yaml"


class ConfigError(ValueError):
    """The config is wrong; the message names the key or id."""


def config_error(
    key: str | None, message: str, error: type[ValueError] = ConfigError
) -> ValueError:
    """The error for a bad config value: ``config key '<key>': <message>`` (``config:
    <message>`` for the config as a whole). ``error`` picks a subclass of ValueError."""
    where = f"config key '{key}'" if key else "config"
    return error(f"{where}: {message}")


@functools.cache
def load_schema() -> dict[str, Any]:
    """The config schema (a cached object: read it, do not change it)."""
    text = resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _with_defaults(validator_class: type) -> type:
    """A validator class that also fills in every ``default`` of the ``properties`` it visits
    (the JSON Schema FAQ's recipe, as Snakemake applies it; defaults are copied, so the
    cached schema is never shared with a config)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


def _finite_numbers(validator_class: type) -> type:
    """A validator class whose ``type`` keyword also rejects NaN and infinity: YAML's
    ``.nan``/``.inf`` are floats, so every ``number`` in the schema would otherwise accept them
    (one rule for all numbers, instead of a bound on each)."""
    check_type = validator_class.VALIDATORS["type"]

    def finite_type(validator, types, instance, schema) -> Iterator[Any]:
        if isinstance(instance, float) and not math.isfinite(instance):
            yield jsonschema.ValidationError(f"{instance} is not a finite number")
            return
        yield from check_type(validator, types, instance, schema)

    return validators.extend(validator_class, {"type": finite_type})


@functools.cache
def _validator(fill_defaults: bool) -> jsonschema.Draft202012Validator:
    cls = _finite_numbers(jsonschema.Draft202012Validator)
    return (_with_defaults(cls) if fill_defaults else cls)(load_schema())


def _best_error(
    validator: Any, instance: Any, prefix: str = "", error: type[ValueError] = ConfigError
) -> ValueError | None:
    """The most relevant violation as a :func:`config_error` naming its key (None if valid)."""
    found = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if found is None:
        return None
    path = [prefix] if prefix else []
    path += [str(part) for part in found.absolute_path]
    return config_error(".".join(path), found.message, error)


def validate_schema(config: dict) -> dict:
    """Validate ``config`` in place against the schema, filling in defaults; raises
    :class:`ConfigError` naming the most relevant bad key."""
    # Every error is visited so that every default is filled in; the message is taken from
    # the filled-in config.
    for _ in _validator(True).iter_errors(config):
        pass
    error = _best_error(_validator(False), config)
    if error is not None:
        raise error
    return config


def with_defaults(partial: Mapping[str, Any]) -> dict:
    """A validated copy of a partial config (some sections only), defaults filled in."""
    config = copy.deepcopy(dict(partial))
    config.setdefault("environments", {"_": {}})
    return validate_schema(config)


@functools.cache
def _all_defaults() -> dict:
    return with_defaults({})


def schema_defaults(key: str = "") -> Any:
    """The default of config key ``key`` ("validation.bioreactor", "tfa.big_m_kJ"; "" for
    the whole config), sub-defaults filled in; a fresh copy, callers may change it."""
    values: Any = _all_defaults()
    for part in _parts(key):
        values = values[part]
    return copy.deepcopy(values)


def _parts(key: str) -> list[str]:
    return key.split(".") if key else []


def subschema(key: str) -> dict[str, Any]:
    """The part of the schema that describes config key ``key`` ("tfa.big_m_kJ")."""
    node = load_schema()
    for part in _parts(key):
        properties = node.get("properties", {})
        if part in properties:
            node = properties[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            raise KeyError(f"the config schema has no key {key!r}")
        node = resolved(node)
    return node


def resolved(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` itself, or the part of the schema its ``$ref`` ("#/$defs/range") points to."""
    if "$ref" not in node:
        return node
    target: Any = load_schema()
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target


def section_keys(key: str) -> list[str]:
    """The keys a config section (an object with ``properties``) holds, in schema order."""
    return list(subschema(key).get("properties", {}))


def check_value(key: str, value: Any, error: type[ValueError] = ConfigError) -> None:
    """Check one value of config key ``key`` against the schema (type, range, items, unknown
    sub-keys) without filling in defaults; raises ``error`` naming the key."""
    validator = _validator(False).evolve(schema=subschema(key))
    found = _best_error(validator, value, key, error)
    if found is not None:
        raise found
