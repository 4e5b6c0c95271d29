"""The metabolic network: load a cobra model and put it into one environment."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import cobra
from cobra.io import load_json_model, load_matlab_model, load_model, read_sbml_model

from kinetigen.schema import config_error

log = logging.getLogger(__name__)

# Model note a kinetic core's reduced model carries (kinetigen.core.reduce): the id of the
# model it was reduced from, whose reaction energies it reads.
REDUCED_FROM = "kinetigen_reduced_from"

# Metabolites held constant and left out of ln-concentration sums (eQuilibrator's Legendre
# transform already accounts for them).
WATER_AND_PROTON = ("h2o", "h")


class InvalidEnvironment(ValueError):
    """An environment refers to something the model lacks or cannot grow in."""


def bundled_models() -> list[str]:
    """The models shipped with cobra (``cobra/data/<id>.xml.gz``), loadable offline."""
    data = resources.files("cobra.data")
    return sorted(
        entry.name.removesuffix(".xml.gz")
        for entry in data.iterdir()
        if entry.name.endswith(".xml.gz")
    )


def _load_by_id(spec: str) -> cobra.Model:
    """A bundled model straight from cobra's data (offline, no "fetching" log line); any other
    id goes to cobra's repositories, and a failure says that it is not bundled."""
    if spec in bundled_models():
        with resources.as_file(resources.files("cobra.data") / f"{spec}.xml.gz") as path:
            return read_sbml_model(str(path))
    close = difflib.get_close_matches(spec, bundled_models(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    try:
        return load_model(spec)
    except Exception as error:
        raise config_error(
            "model",
            f"{spec!r} is not a model bundled with cobra{hint}; bundled: "
            f"{', '.join(bundled_models())}. Give a bundled id or the path of a model file "
            f"(downloading {spec!r} from the BiGG/BioModels repositories failed: {error})",
        ) from None


def load_network(spec: str, solver: str = "hybrid") -> cobra.Model:
    """Load cobra's bundled model ``spec`` (e.g. "textbook") or a model file by path.

    Read on cobra's default solver and then moved to ``solver``: a genome-scale model built
    directly on optlang's hybrid interface gave a different pFBA solution in every process
    (at 1e-13 on iJO1366, which the steady-state sampler's chains amplify), one copied onto
    it gives the same one for the same PYTHONHASHSEED (the Snakefile fixes it). cobra's note
    that glpk takes no tolerance is silenced: the run never solves on glpk."""
    cobra_model_log = logging.getLogger("cobra.core.model")
    level = cobra_model_log.level
    cobra_model_log.setLevel(logging.WARNING)
    try:
        model = _read_network(spec)
    finally:
        cobra_model_log.setLevel(level)
    model.solver = solver
    return model


@contextmanager
def default_solver(solver: Any) -> Iterator[None]:
    """cobra's default solver set to ``solver`` (a name or an optlang interface) inside the
    block: a model created there starts on it, not on cobra's default (glpk), so cobra does
    not log glpk's missing tolerance settings for a run that uses HiGHS."""
    configuration = cobra.Configuration()
    previous = configuration.solver
    configuration.solver = solver
    try:
        yield
    finally:
        configuration.solver = previous


class Networks:
    """The network of each environment, loaded once each on first use: with a kinetic core
    (config ``core``) every environment has its own reduced model (``core.reduce``:
    ``results/core/<env>/model.json``), since the lumped biomass carries the routes of that
    environment's reference. ``specs``: environment -> model spec (a path or a bundled id)."""

    def __init__(self, specs: Mapping[str, str], solver: str = "hybrid") -> None:
        self.specs = dict(specs)
        self.solver = solver
        self._loaded: dict[str, cobra.Model] = {}

    def __getitem__(self, environment: str) -> cobra.Model:
        if environment not in self.specs:
            raise KeyError(
                f"environment {environment!r} has no network (networks of: {', '.join(self.specs)})"
            )
        if environment not in self._loaded:
            self._loaded[environment] = load_network(self.specs[environment], self.solver)
        return self._loaded[environment]


def load_networks(spec: str | Mapping[str, str], solver: str = "hybrid") -> cobra.Model | Networks:
    """What a rule over several environments reads as its network: one model for every
    environment (``spec`` a model spec, see :func:`load_network`) or, with a kinetic core, one
    per environment (``spec`` a mapping environment -> model file, see :class:`Networks`)."""
    if isinstance(spec, str):
        return load_network(spec, solver=solver)
    return Networks(spec, solver)


def network_of(network: cobra.Model | Networks, environment: str) -> cobra.Model:
    """The network environment ``environment`` is modelled on (see :func:`load_networks`)."""
    return network[environment] if isinstance(network, Networks) else network


def _read_network(spec: str) -> cobra.Model:
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
        model = _load_by_id(spec)
    return model


def reduced_from(model: cobra.Model) -> str | None:
    """The id of the model ``model`` is a kinetic core of, or None if it is not one."""
    return (model.notes or {}).get(REDUCED_FROM)


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
        raise InvalidEnvironment(
            f"environment {name!r}: FBA is {solution.status}; {uptake_hint(model)}"
        )
    return float(solution.objective_value)


def _is_organic(metabolite: cobra.Metabolite) -> bool:
    """A carbon source: holds C and H (CO2 and bicarbonate do not count)."""
    elements = metabolite.elements or {}
    return "C" in elements and "H" in elements and base_id(metabolite.id) != "hco3"


def uptake_hint(model: cobra.Model) -> str:
    """Why an environment may not grow: the carbon sources its exchanges let in."""
    carbon = sorted(
        reaction.id
        for reaction in model.exchanges
        if reaction.lower_bound < 0 and any(_is_organic(m) for m in reaction.metabolites)
    )
    if not carbon:
        return (
            "no carbon source can be taken up (every carbon exchange has lower bound >= 0): "
            "open one in reaction_bounds, e.g. EX_glc__D_e: [-10, 1000]"
        )
    return (
        f"open carbon uptakes: {', '.join(carbon)}; check the bounds in reaction_bounds "
        "(knockouts, forced fluxes, oxygen) and the non-growth maintenance demand"
    )


def check_growth(model: cobra.Model, name: str, environment: Mapping[str, Any]) -> None:
    """FBA in ``environment`` before any job runs: an infeasible or non-growing environment
    is an error naming it, with :func:`uptake_hint`."""
    with model:
        apply_environment(model, name, environment)
        growth = model.slim_optimize(error_value=float("nan"))
        if not growth > 1e-9:
            state = "infeasible" if growth != growth else f"growth {growth:g} (no growth)"
            raise config_error(
                f"environments.{name}",
                f"FBA is {state}; {uptake_hint(model)}",
                InvalidEnvironment,
            )
