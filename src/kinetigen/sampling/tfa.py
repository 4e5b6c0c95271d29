"""The TFA stage of one environment: growth, reference directionality profile, variability.

:func:`run_tfa` chains the parts: FBA growth, the TFA MILP (:mod:`~kinetigen.sampling.problem`)
and its growth optimum, the reference solution (:mod:`~kinetigen.sampling.reference`) and
thermodynamic variability analysis (:mod:`~kinetigen.sampling.variability`).

Infeasible environments: FBA infeasible (or no growth) raises
:class:`kinetigen.network.InvalidEnvironment`; TFA infeasible (or no growth although FBA grows)
raises :class:`kinetigen.sampling.errors.InfeasibleTFA` carrying the smallest relaxation of
dG'0 and concentration bounds that restores growth (:mod:`~kinetigen.sampling.relaxation`). Its
slacks shift dG'0 means: the box and the band move with the mean (as
:func:`~kinetigen.sampling.relaxation.apply_relaxation` keeps each reaction's uncertainty), so
a slack measures how far dG'0 must leave its band.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from typing import Any

import cobra
import pandas as pd
from optlang.interface import OPTIMAL

from kinetigen.columns import DG, FLUX, LNC
from kinetigen.network import InvalidEnvironment, apply_environment, fba_growth
from kinetigen.sampling.environment import ThermoEnvironment
from kinetigen.sampling.errors import InfeasibleTFA
from kinetigen.sampling.loops import directional_loops
from kinetigen.sampling.problem import TFAProblem, build_tfa_problem, maximize_growth
from kinetigen.sampling.reference import ReferenceSolution, reference_solution
from kinetigen.sampling.relaxation import find_relaxation
from kinetigen.sampling.variability import thermodynamic_variability
from kinetigen.settings import SamplingSettings, TFASettings

logger = logging.getLogger(__name__)

# Growth at or below this (1/h) means the environment cannot grow.
NO_GROWTH = 1e-9


def run_tfa(
    env: ThermoEnvironment,
    tfa: TFASettings | Mapping[str, Any],
    *,
    sampling: SamplingSettings | Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """TFA of one environment: growth, reference directionality profile and variability.

    Parameters
    ----------
    env
        The environment. Its reaction bounds are applied to a copy of the network, so a bare
        network and one already in the environment give the same result.
    tfa
        The ``tfa`` settings (or config section).
    sampling
        The ``sampling`` settings (or config section, or just its two margins); if given,
        the reference also honours ``min_abs_dg_kJ`` and ``min_abs_flux``, so the profile
        can be sampled.

    Returns
    -------
    summary
        JSON-serialisable: environment; fba_growth, tfa_growth, min_growth (1/h) and
        min_growth_fraction; n_constrained, n_unconstrained, unconstrained_reactions
        [{reaction, reason}]; directionality_mode, reference_margins (the sampling margins
        the reference honours, {} if none), directionality {reaction: +1/-1/0}; reference
        {flux (mmol/gDW/h), dg (kJ/mol), lnc (ln mol/L)} of the reference solution; solver
        ("hybrid", "glpk", ...); loops {reactions, unconstrained}: the reactions that can carry
        an internal cycle under the profile and the unconstrained ones among them
        (:func:`kinetigen.sampling.loops.directional_loops`); wall_seconds.
    variability
        :func:`kinetigen.sampling.variability.thermodynamic_variability` output, or None when
        ``tfa.variability`` is false.

    Raises
    ------
    InvalidEnvironment
        FBA is infeasible or cannot grow (names the environment).
    InfeasibleTFA
        TFA cannot grow; carries the relaxation report in ``.report``.
    """
    start = time.perf_counter()
    settings = TFASettings.coerce(tfa)
    fba = _fba_growth(env)
    problem = build_tfa_problem(env, settings)
    logger.info(
        "environment %s: TFA MILP with %d constrained and %d unconstrained reactions, "
        "%d ln c and %d uncertainty variables",
        env.name, len(env.constrained), len(env.unconstrained), len(problem.lnc),
        len(problem.uncertainty),
    )
    tfa_growth = _tfa_growth(problem, fba)
    min_growth = settings.min_growth_fraction * tfa_growth
    logger.info(
        "environment %s: FBA growth %.4f 1/h, TFA growth %.4f 1/h, minimum %.4f 1/h",
        env.name, fba, tfa_growth, min_growth,
    )
    margins = {}
    if sampling is not None:
        margins = _margins(SamplingSettings.coerce(sampling))
    reference = reference_solution(problem, settings.directionality, min_growth, **margins)
    counts = pd.Series(reference.directionality).value_counts()
    logger.info(
        "environment %s: reference (%s) has %d forward, %d backward, %d inactive reactions",
        env.name, settings.directionality, counts.get(1, 0), counts.get(-1, 0),
        counts.get(0, 0),
    )
    loops = _reference_loops(env, reference)
    variability = None
    if settings.variability:
        variability = thermodynamic_variability(problem, min_growth)
    summary = _summary(problem, reference, margins, fba, tfa_growth, min_growth)
    summary["loops"] = loops
    summary["wall_seconds"] = time.perf_counter() - start
    return summary, variability


def _reference_loops(env: ThermoEnvironment, reference: ReferenceSolution) -> dict[str, Any]:
    """The internal cycles the reference directionality admits, logged when there are any."""
    loops = directional_loops(
        env.model, reference.directionality, env.biomass_reaction, env.unconstrained
    )
    if loops["reactions"]:
        logger.warning(
            "environment %s: the reference directionality admits internal cycles through %d "
            "reactions (%s), let through by the unconstrained %s; sampled steady states may "
            "carry them",
            env.name, len(loops["reactions"]), ", ".join(loops["reactions"]),
            ", ".join(loops["unconstrained"]) or "(none)",
        )
    return loops


def _margins(sampling: SamplingSettings) -> dict[str, Any]:
    """The sampling margins the reference must honour (and the reactions they bind, when
    ``sampling.margin_reactions`` lists them)."""
    margins: dict[str, Any] = {
        "min_abs_dg_kJ": sampling.min_abs_dg_kJ,
        "min_abs_flux": sampling.min_abs_flux,
    }
    if sampling.margin_reactions is not None:
        margins["margin_reactions"] = list(sampling.margin_reactions)
    return margins


def _tfa_growth(problem: TFAProblem, fba: float) -> float:
    """The TFA growth optimum (1/h); no growth raises :class:`InfeasibleTFA` with the
    smallest relaxation that restores ``min_growth_fraction`` x the FBA growth."""
    env = problem.env
    status, growth = maximize_growth(problem)
    if status == OPTIMAL and growth > NO_GROWTH:
        return growth
    logger.warning(
        "environment %s: TFA is %s (growth %s); searching the smallest relaxation",
        env.name, status, growth,
    )
    report = find_relaxation(
        env, problem.settings, min_growth=problem.settings.min_growth_fraction * fba
    )
    raise InfeasibleTFA(
        env.name,
        f"solver status {status}, growth {growth:.3g} 1/h against FBA {fba:.3g} 1/h",
        report=report,
    )


def _summary(
    problem: TFAProblem,
    reference: ReferenceSolution,
    margins: dict[str, Any],
    fba: float,
    tfa_growth: float,
    min_growth: float,
) -> dict[str, Any]:
    """The JSON summary of :func:`run_tfa` (without the wall time)."""
    env, settings = problem.env, problem.settings
    return {
        "environment": env.name,
        "fba_growth": fba,
        "tfa_growth": tfa_growth,
        "min_growth": min_growth,
        "min_growth_fraction": settings.min_growth_fraction,
        "n_constrained": len(env.constrained),
        "n_unconstrained": len(env.unconstrained),
        "unconstrained_reactions": [
            {"reaction": r, "reason": reason} for r, reason in env.unconstrained.items()
        ],
        "directionality_mode": settings.directionality,
        "reference_margins": margins,
        "directionality": reference.directionality,
        "reference": {
            FLUX: {k: float(v) for k, v in reference.fluxes.items()},
            DG: {k: float(v) for k, v in reference.dg.items()},
            LNC: {k: float(v) for k, v in reference.lnc.items()},
        },
        "solver": _solver_name(problem.model),
    }


def _fba_growth(env: ThermoEnvironment) -> float:
    """FBA growth optimum in the environment; no growth counts as an infeasible environment."""
    model = env.model
    with model, warnings.catch_warnings():
        # cobra warns about an infeasible status; the error raised instead names the cause
        warnings.simplefilter("ignore", UserWarning)
        apply_environment(model, env.name, env.environment)
        model.objective = env.biomass_reaction
        model.objective_direction = "max"
        growth = fba_growth(model, env.name)
    if growth <= NO_GROWTH:
        raise InvalidEnvironment(f"environment {env.name!r}: FBA growth is {growth:g} (no growth)")
    return growth


def _solver_name(model: cobra.Model) -> str:
    return model.solver.interface.__name__.rsplit(".", 1)[-1].removesuffix("_interface")
