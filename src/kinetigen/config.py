"""Config validation: the JSON Schema first (types, unknown keys, defaults), then the ids that
only the model can check. Both run before any rule does."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from snakemake.utils import validate

from kinetigen.network import check_environment, load_network

log = logging.getLogger(__name__)

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The config is wrong; the message names the key or id."""


@functools.cache
def _validator(schema: str | Path = SCHEMA) -> jsonschema.Draft202012Validator:
    with open(schema) as handle:
        return jsonschema.Draft202012Validator(yaml.safe_load(handle))


def _first_error(config: Mapping[str, Any], schema: str | Path = SCHEMA) -> ConfigError | None:
    """The most relevant schema violation of ``config`` as a message naming its key."""
    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(config))
    if error is None:
        return None
    key = ".".join(str(part) for part in error.absolute_path)
    where = f"config key '{key}'" if key else "config"
    return ConfigError(f"{where}: {error.message}")


def validate_schema(config: dict, schema: str | Path = SCHEMA) -> dict:
    """Validate ``config`` in place against the schema, filling in defaults."""
    try:
        validate(config, str(schema), set_default=True)
    except Exception:
        # Snakemake's message prints the whole schema; name the offending key instead.
        error = _first_error(config, schema)
        if error is None:
            raise
        raise error from None
    return config


def with_defaults(partial: dict) -> dict:
    """A copy of a partial config (some sections only) with every default filled in.

    Library code reads its settings through this, so the schema is the one place that holds
    defaults and ranges.
    """
    config = copy.deepcopy(dict(partial))
    config.setdefault("environments", {"_": {}})
    return validate_schema(config)


@functools.cache
def _all_defaults() -> dict:
    return with_defaults({})


def schema_defaults(*section: str) -> Any:
    """The schema's defaults of one config section, e.g. ``schema_defaults("validation",
    "bioreactor")`` (a fresh copy: callers may change it)."""
    values: Any = _all_defaults()
    for key in section:
        values = values[key]
    return copy.deepcopy(values)


def check_section(values: Mapping[str, Any], *section: str) -> None:
    """Check one section's values against the schema (types, ranges, unknown keys) without
    filling in defaults: for settings objects built in code rather than read from a config.
    Raises :class:`ConfigError` naming the key, as for a config file."""
    nested: Any = dict(values)
    for key in reversed(section):
        nested = {key: nested}
    nested.setdefault("environments", {"_": {}})
    error = _first_error(nested)
    if error is not None:
        raise error


def check_against_model(config: dict) -> None:
    """Check what the schema cannot: the model exists and every id names something in it."""
    spec = config["model"]
    if Path(spec).suffix and not Path(spec).exists():
        raise ConfigError(f"config key 'model': model file {spec!r} does not exist")
    try:
        model = load_network(spec, solver=config["solver"])
    except Exception as error:
        raise ConfigError(f"config key 'model': cannot load {spec!r}: {error}") from None
    if config["biomass_reaction"] not in model.reactions:
        raise ConfigError(
            f"config key 'biomass_reaction': {config['biomass_reaction']!r} is not a reaction "
            "of the model"
        )
    missing = sorted(
        {m.compartment for m in model.metabolites} - set(config["physiology"]["compartments"])
    )
    if missing:
        raise ConfigError(
            f"config key 'physiology.compartments' lacks model compartment(s) {missing}"
        )
    unknown = sorted(
        set(config["thermo"]["unconstrained_reactions"]) - {r.id for r in model.reactions}
    )
    if unknown:
        raise ConfigError(
            f"config key 'thermo.unconstrained_reactions': unknown reactions {unknown}"
        )
    heldout = set(config["training"]["heldout"])
    unknown = sorted(heldout - set(config["environments"]))
    if unknown:
        raise ConfigError(f"config key 'training.heldout': unknown environments {unknown}")
    if not set(config["environments"]) - heldout:
        raise ConfigError("config key 'training.heldout': no environment left to train on")
    for name, environment in config["environments"].items():
        try:
            check_environment(model, name, environment)
        except ValueError as error:
            raise ConfigError(f"config key 'environments': {error}") from None


def resolve_validity(config: dict) -> dict:
    """Fill in the derived threshold factor (one criterion with the return test, see
    kinetigen.kinetics.validity) and check that the split fits the sampled steady states."""
    # Imported here: kinetigen.kinetics imports this module for its settings.
    from kinetigen.kinetics.split import SplitError, split_steady_states
    from kinetigen.kinetics.validity import return_test_factor

    threshold = config["kinetics"]["threshold"]
    try:
        consistent = return_test_factor(config["validation"])
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if threshold["factor"] is None:
        threshold["factor"] = consistent
    elif threshold["fixed_per_h"] is None and threshold["factor"] < consistent:
        log.warning(
            "config key 'kinetics.threshold.factor' = %g is below ln(max magnitude / tolerance)"
            " / return_time_factor = %.3f: valid models may fail the perturbation test even in"
            " linear theory",
            threshold["factor"],
            consistent,
        )
    split = config["kinetics"]["split"]
    try:
        split_steady_states(
            config["sampling"]["n_samples"], split["n_train"], split["n_evaluation"], split["gap"]
        )
    except SplitError as error:
        raise ConfigError(
            f"config key 'kinetics.split' does not fit 'sampling.n_samples': {error}"
        ) from None
    return config


def validate_config(config: dict) -> dict:
    """Full validation as the Snakefile does it; returns ``config`` with defaults filled in
    and the threshold factor resolved."""
    validate_schema(config)
    resolve_validity(config)
    check_against_model(config)
    return config
