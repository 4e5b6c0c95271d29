"""The metabolic network: load a cobra model and put it into one environment."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cobra
from cobra.io import load_json_model, load_matlab_model, load_model, read_sbml_model

from kinetigen.schema import config_error

log = logging.getLogger(__name__)

# Metabolites held constant and left out of ln-concentration sums (eQuilibrator's Legendre
# transform already accounts for them).
WATER_AND_PROTON = ("h2o", "h")


class InvalidEnvironment(ValueError):
    """An environment refers to something the model lacks or cannot grow in."""


def load_network(spec: str, solver: str = "hybrid") -> cobra.Model:
    """Load cobra's bundled model ``spec`` (e.g. "textbook") or a model file by path."""
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix in {".xml", ".sbml"}:
        model = read_sbml_model(str(path))
    elif suffix == ".json":
        model = load_json_model(str(path))
    elif suffix == ".mat":
        model = load_matlab_model(str(path))
    elif suffix:
        raise config_error("model", f"unsupported model file type {suffix!r} ({spec})")
    else:
        model = load_model(spec)
    model.solver = solver
    return model


def base_id(metabolite_id: str) -> str:
    """BiGG base id: the metabolite id without its compartment suffix (``g6p_c`` -> ``g6p``)."""
    stem, sep, _ = metabolite_id.rpartition("_")
    return stem if sep else metabolite_id


def is_water_or_proton(metabolite: cobra.Metabolite) -> bool:
    return base_id(metabolite.id) in WATER_AND_PROTON


def check_environment(model: cobra.Model, name: str, environment: Mapping[str, Any]) -> None:
    """Raise a clear error for ids an environment names that the model does not have."""

    def bad(key: str, message: str) -> ValueError:
        return config_error(f"environments.{name}.{key}", message, InvalidEnvironment)

    for key in ("reaction_bounds", "measured_fluxes"):
        for reaction_id, (lower, upper) in (environment.get(key) or {}).items():
            if reaction_id not in model.reactions:
                raise bad(key, f"unknown reaction id {reaction_id!r}")
            if lower > upper:
                raise bad(key, f"{reaction_id} has lower bound {lower} > upper bound {upper}")
    for metabolite_id, (lower, upper) in (environment.get("concentrations") or {}).items():
        if metabolite_id not in model.metabolites:
            raise bad("concentrations", f"unknown metabolite id {metabolite_id!r}")
        if not 0 < lower <= upper:
            raise bad(
                "concentrations",
                f"{metabolite_id} needs 0 < low <= high, got [{lower}, {upper}]",
            )


def apply_environment(model: cobra.Model, name: str, environment: Mapping[str, Any]) -> None:
    """Set the reaction bounds of ``environment`` on ``model`` (use inside ``with model:``).

    Measured flux ranges are applied as bounds too. Concentrations are not touched here:
    they bound ln-concentration variables, which only TFA has.
    """
    check_environment(model, name, environment)
    for key in ("reaction_bounds", "measured_fluxes"):
        for reaction_id, (lower, upper) in (environment.get(key) or {}).items():
            model.reactions.get_by_id(reaction_id).bounds = (lower, upper)


def fba_growth(model: cobra.Model, name: str) -> float:
    """Optimal growth in the current environment; an infeasible one is an error naming it."""
    solution = model.optimize()
    if solution.status != "optimal":
        raise InvalidEnvironment(f"environment {name!r}: FBA is {solution.status}")
    return float(solution.objective_value)
