"""Config validation: the JSON Schema first (types, unknown keys, defaults), then the ids that
only the model can check. Both run before any rule does."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml
from snakemake.utils import validate

from kinetigen.network import check_environment, load_network

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The config is wrong; the message names the key or id."""


def validate_schema(config: dict, schema: str | Path = SCHEMA) -> dict:
    """Validate ``config`` in place against the schema, filling in defaults."""
    try:
        validate(config, str(schema), set_default=True)
    except Exception:
        # Snakemake's message prints the whole schema; name the offending key instead.
        with open(schema) as handle:
            validator = jsonschema.Draft202012Validator(yaml.safe_load(handle))
        error = jsonschema.exceptions.best_match(validator.iter_errors(config))
        if error is None:
            raise
        key = ".".join(str(part) for part in error.absolute_path)
        where = f"config key '{key}'" if key else "config"
        raise ConfigError(f"{where}: {error.message}") from None
    return config


def with_defaults(partial: dict) -> dict:
    """A copy of a partial config (some sections only) with every default filled in.

    Library code reads its settings through this, so the schema is the one place that holds
    defaults and ranges.
    """
    config = copy.deepcopy(dict(partial))
    config.setdefault("environments", {"_": {}})
    return validate_schema(config)


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


def validate_config(config: dict) -> dict:
    """Full validation as the Snakefile does it; returns ``config`` with defaults filled in."""
    validate_schema(config)
    check_against_model(config)
    return config
