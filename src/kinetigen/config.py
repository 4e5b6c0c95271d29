"""Config validation: the JSON Schema first (types, unknown keys, defaults; see
:mod:`kinetigen.schema`), then the ids that only the model can check. Both run before any
rule does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cobra

from kinetigen.families import apply_families, check_families_against_model
from kinetigen.network import check_environment, check_growth, is_water_or_proton, load_network
from kinetigen.schema import (
    ConfigError,
    config_error,
    schema_defaults,
    validate_schema,
    with_defaults,
)
from kinetigen.settings import KineticsSectionSettings, ValidationSettings, WorkflowSettings

log = logging.getLogger(__name__)

__all__ = [
    "ConfigError",
    "check_against_model",
    "check_analysis",
    "check_measured_km",
    "check_core",
    "config_error",
    "resolve_validity",
    "run_environments",
    "schema_defaults",
    "training_environments",
    "validate_config",
    "validate_schema",
    "with_defaults",
]


def check_against_model(config: dict) -> None:
    """Check what the schema cannot: the model exists and every id names something in it."""
    spec = config["model"]
    if Path(spec).suffix and not Path(spec).exists():
        raise config_error("model", f"model file {spec!r} does not exist")
    try:
        model = load_network(spec, solver=config["solver"])
    except Exception as error:
        raise config_error("model", f"cannot load {spec!r}: {error}") from None
    if config["biomass_reaction"] not in model.reactions:
        raise config_error(
            "biomass_reaction", f"{config['biomass_reaction']!r} is not a reaction of the model"
        )
    missing = sorted(
        {m.compartment for m in model.metabolites} - set(config["physiology"]["compartments"])
    )
    if missing:
        raise config_error("physiology.compartments", f"lacks model compartment(s) {missing}")
    unknown = sorted(
        set(config["thermo"]["unconstrained_reactions"]) - {r.id for r in model.reactions}
    )
    if unknown:
        raise config_error("thermo.unconstrained_reactions", f"unknown reactions {unknown}")
    unknown = sorted(
        set(config["sampling"]["margin_reactions"] or []) - {r.id for r in model.reactions}
    )
    if unknown:
        raise config_error("sampling.margin_reactions", f"unknown reactions {unknown}")
    check_families_against_model(model, config)
    check_environment_names(config)
    check_core(model, config)
    for name, environment in config["environments"].items():
        try:
            check_environment(model, name, environment)
            if name in (config["run_environments"] or config["environments"]):
                check_growth(model, name, environment)  # one LP: cheap, before any job
        except ValueError as error:  # the message names the key already
            raise ConfigError(str(error)) from None
    check_measured_km(model, config)
    check_analysis(model, config)


def run_environments(config: Mapping[str, Any]) -> list[str]:
    """The environments the workflow runs: ``run_environments``, or all of them."""
    return list(config["run_environments"] or config["environments"])


def training_environments(config: Mapping[str, Any]) -> list[str]:
    """The run environments a generator trains on: ``training.environments`` (empty: every
    run environment) without the held-out ones, in that order."""
    run = run_environments(config)
    training = config["training"]
    chosen = training.get("environments") or run
    return [name for name in chosen if name in run and name not in training["heldout"]]


def adaptation_environments(config: Mapping[str, Any]) -> list[str]:
    """The environments of ``training.adaptation.environments`` (none if the key is absent)."""
    return list(config["training"].get("adaptation", {}).get("environments", []))


def check_environment_names(config: Mapping[str, Any]) -> None:
    """Every environment that a name list holds is configured, and one is left to train on
    (family names are already replaced by their members, :func:`apply_families`)."""
    configured = set(config["environments"])
    lists = {
        "training.heldout": config["training"]["heldout"],
        "training.environments": config["training"].get("environments", []),
        "training.adaptation.environments": adaptation_environments(config),
        "run_environments": config["run_environments"],
    }
    for key, names in lists.items():
        unknown = sorted(set(names) - configured)
        if unknown:
            raise config_error(
                key, f"unknown environments {unknown}; configured: {sorted(configured)}"
            )
    not_heldout = sorted(
        set(lists["training.adaptation.environments"]) - set(lists["training.heldout"])
    )
    if not_heldout:
        raise config_error(
            "training.adaptation.environments",
            f"{not_heldout} are not held out (training.heldout): adaptation is to new environments",
        )
    if not training_environments(config):
        key = next(
            (k for k in ("training.environments", "run_environments") if lists[k]),
            "training.heldout",
        )
        raise config_error(key, "no environment left to train on")


def check_measured_km(model: cobra.Model, config: dict) -> None:
    """Every ``kinetics.measured_km`` entry against the network: a reaction of the model that
    has a rate law (not an exchange), and a metabolite of that reaction that can saturate it
    (not H2O or H+). Values, ranges and bounds are the settings' check. Whether the reaction
    is active, and the metabolite a saturating one in its direction, is known only from the
    steady states: kinetic_parameters checks that and names the entry."""
    boundary = {r.id for r in model.boundary}
    for item in KineticsSectionSettings.from_config(config).measured():
        if item.reaction not in model.reactions:
            raise config_error(item.key, f"unknown reaction {item.reaction!r} ({item.name})")
        if item.reaction in boundary:
            raise config_error(
                item.key, f"{item.reaction!r} is an exchange reaction, without a rate law"
            )
        reaction = model.reactions.get_by_id(item.reaction)
        metabolites = {m.id: m for m in reaction.metabolites}
        if item.metabolite not in metabolites:
            raise config_error(
                item.key,
                f"metabolite {item.metabolite!r} is not a substrate or product of "
                f"{item.reaction!r} (its metabolites: {sorted(metabolites)})",
            )
        if is_water_or_proton(metabolites[item.metabolite]):
            raise config_error(item.key, f"{item.describe()}: H2O and H+ never saturate an enzyme")


def check_core(model: cobra.Model, config: dict) -> None:
    """The ``core`` section against the model (ids, an empty or disconnected core, products
    no pathway reaches); nothing to check when no core is configured."""
    from kinetigen.core.select import CoreError, select_core
    from kinetigen.settings import CoreSettings

    if CoreSettings.from_config(config).whole_model:
        return
    try:
        select_core(model, config)
    except CoreError as error:  # the message names the key already
        raise ConfigError(str(error)) from None


def check_analysis(model: cobra.Model, config: dict) -> None:
    """The ``analysis`` lists against the model: every flux of interest and every enzyme is
    a reaction of it, every change's environments exist, and every enzyme can be in a
    kinetic model (not an exchange, changes at least one dynamic state). Whether it is
    active in an environment is known only from its steady states; the analysis rules check
    that and name it. (fold <= 0 is refused by the schema.)"""
    from kinetigen.kinetics.settings import KineticsSettings
    from kinetigen.kinetics.structure import is_state_metabolite

    analysis = config.get("analysis", {})
    reactions = {r.id for r in model.reactions}
    unknown = [r for r in analysis.get("fluxes", []) if r not in reactions]
    if unknown:
        raise config_error("analysis.fluxes", f"unknown reaction {unknown[0]!r}")
    kinetics = KineticsSettings.from_config(config)
    boundary = {r.id for r in model.boundary}
    for index, change in enumerate(analysis.get("perturbations", [])):
        key = f"analysis.perturbations[{index}]"
        for reaction_id in change["reactions"]:
            if reaction_id not in reactions:
                raise config_error(key, f"unknown reaction {reaction_id!r}")
            reaction = model.reactions.get_by_id(reaction_id)
            if reaction_id in boundary or not any(
                is_state_metabolite(m, kinetics) for m in reaction.metabolites
            ):
                raise config_error(
                    key,
                    f"enzyme {reaction_id!r} is not in any kinetic model (an exchange, or a "
                    "reaction that changes no dynamic state)",
                )
        unknown = sorted(set(change.get("environments", [])) - set(config["environments"]))
        if unknown:
            raise config_error(f"{key}.environments", f"unknown environment {unknown[0]!r}")


def resolve_validity(config: dict) -> dict:
    """Fill in the derived threshold factor (one criterion with the return test, see
    kinetigen.kinetics.validity) and check that the split fits the sampled steady states."""
    # Imported here: kinetigen.kinetics imports the settings, which import this package's schema.
    from kinetigen.kinetics.split import SplitError, split_steady_states

    threshold = config["kinetics"]["threshold"]
    consistent = ValidationSettings.from_config(config).threshold_factor
    if threshold["factor"] is None:
        threshold["factor"] = consistent
    elif threshold["fixed_per_h"] is None and threshold["factor"] < consistent:
        warning = config_error(
            "kinetics.threshold.factor",
            f"{threshold['factor']:g} is below ln(max magnitude / tolerance) / "
            f"return_time_factor = {consistent:.3f}; valid models may fail the perturbation "
            "test even in linear theory",
        )
        log.warning("%s", warning)
    split = config["kinetics"]["split"]
    try:
        split_steady_states(
            config["sampling"]["n_samples"], split["n_train"], split["n_evaluation"], split["gap"]
        )
    except SplitError as error:
        raise config_error("kinetics.split", f"does not fit sampling.n_samples: {error}") from None
    return config


def validate_config(config: dict) -> dict:
    """Full validation as the Snakefile does it; returns ``config`` with defaults filled in
    and the threshold factor resolved."""
    validate_schema(config)
    apply_families(config)
    resolve_validity(config)
    check_km_options(config)
    check_against_model(config)
    return config


def check_km_options(config: dict) -> None:
    """The Km prior's readers (generator.output_range, training.km_regulariser) need the
    prior on, and its median inside the Km bounds (:class:`WorkflowSettings` checks)."""
    sections = ("kinetics", "generator", "training")
    WorkflowSettings.from_section({key: config[key] for key in sections})
