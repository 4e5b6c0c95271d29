"""The reference TFA solution and its directionality profile (``tfa.directionality``).

- ``min_total_flux`` (default): with growth >= ``min_growth_fraction`` x TFA optimum, minimise
  the sum of forward + reverse fluxes of every reaction in the TFA MILP. This is the
  parsimonious, loop-free physiology that pFBA would give, and it is unique far more often
  than a bare growth optimum.
- ``max_growth``: the TFA growth optimum itself (whatever vertex the solver returns).

The profile maps every reaction to +1 (net flux >= 1e-9), -1 (<= -1e-9) or 0. When the
sampling margins are given, the reference also honours them (|dG| >= ``min_abs_dg_kJ`` and
|v| >= ``min_abs_flux`` for active constrained reactions), so the profile is guaranteed to
leave a non-empty polytope to sample.

Which reactions the margins bind (``sampling.margin_reactions``): every constrained reaction
by default (e_coli_core). At genome scale that is infeasible: on iJO1366 the biomass reaction
draws cofactors at rates far below 1e-3 mmol/gDW/h (its coefficients are 1e-5 to 1e-4 per
gDW), and a reaction that makes only such a cofactor can neither carry |v| >= 1e-3 (nothing
else consumes it) nor be inactive (growth needs it). The margins exist for the kinetic model
(finite displacements and Vmax), so a list limits them to those reactions; the others keep
TFA's own second-law rows (|dG| >= ``tfa.epsilon_kJ`` when active). A listed reaction
without thermodynamic data gets neither margin here (it has no binaries).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from optlang.symbolics import Zero

from kinetigen.sampling.environment import ZERO_FLUX
from kinetigen.sampling.problem import TFAProblem
from kinetigen.schema import check_value, config_error

logger = logging.getLogger(__name__)


@dataclass
class ReferenceSolution:
    """One TFA solution: fluxes (mmol/gDW/h), dG (kJ/mol) and ln c, with its profile."""

    fluxes: pd.Series
    dg: pd.Series
    lnc: pd.Series
    directionality: dict[str, int]


def reference_solution(
    problem: TFAProblem,
    mode: str,
    min_growth: float,
    *,
    min_abs_dg_kJ: float | None = None,
    min_abs_flux: float | None = None,
    margin_reactions: Collection[str] | None = None,
) -> ReferenceSolution:
    """Reference TFA solution and its directionality profile (see the module docstring).

    ``mode`` is ``tfa.directionality``; ``min_abs_dg_kJ`` / ``min_abs_flux``: if given, active
    constrained reactions of the reference also have |dG| >= min_abs_dg_kJ and
    |v| >= min_abs_flux; ``margin_reactions`` (``sampling.margin_reactions``): only these
    (None: all constrained reactions).
    """
    check_value("tfa.directionality", mode)
    bound = _margin_reactions(problem, margin_reactions)
    values = _solve_reference(problem, mode, min_growth, min_abs_dg_kJ, min_abs_flux, bound)
    fluxes = problem.net_fluxes(values)
    profile = {
        reaction_id: int(np.sign(flux)) if abs(flux) >= ZERO_FLUX else 0
        for reaction_id, flux in fluxes.items()
    }
    if min_abs_flux is not None:
        listed = set(bound) if margin_reactions is not None else set(fluxes.index)
        small = [
            r for r, v in fluxes.items() if r in listed and profile[r] and abs(v) < min_abs_flux
        ]
        if small:
            logger.warning(
                "environment %s: active reactions below sampling.min_abs_flux in the reference "
                "(no binaries to lift them): %s",
                problem.env.name, ", ".join(small),
            )
    return ReferenceSolution(
        fluxes=fluxes,
        dg=pd.Series({r: values[v.name] for r, v in problem.dg.items()}, name="dg", dtype=float),
        lnc=pd.Series(
            {m: values[v.name] for m, v in problem.lnc.items()}, name="lnc", dtype=float
        ),
        directionality=profile,
    )


def _margin_reactions(problem: TFAProblem, reactions: Collection[str] | None) -> list[str]:
    """The constrained reactions the margins bind, model order (all when ``reactions`` is
    None); an id the model lacks is a config error naming it."""
    constrained = problem.env.constrained
    if reactions is None:
        return list(constrained)
    unknown = sorted(set(reactions) - {r.id for r in problem.model.reactions})
    if unknown:
        raise config_error("sampling.margin_reactions", f"unknown reactions {unknown}")
    wanted = set(reactions)
    return [r for r in constrained if r in wanted]


def _solve_reference(
    problem: TFAProblem,
    mode: str,
    min_growth: float,
    min_abs_dg_kJ: float | None,
    min_abs_flux: float | None,
    reactions: list[str],
) -> dict[str, float]:
    """The reference's variable values: the MILP of ``mode`` at growth >= ``min_growth``
    with the margins (if given) in force on ``reactions``; the MILP is left as it was."""
    model, biomass_reaction = problem.model, problem.env.biomass_reaction
    with model:
        biomass = model.reactions.get_by_id(biomass_reaction)
        biomass.lower_bound = max(biomass.lower_bound, min_growth)
        if min_abs_flux is not None:
            _add_minimum_active_flux(problem, float(min_abs_flux), reactions)
        epsilon = problem.settings.epsilon_kJ
        margin = None if min_abs_dg_kJ is None else max(epsilon, float(min_abs_dg_kJ))
        _set_active_dg_margin(problem, margin, reactions)
        try:
            if mode == "max_growth":
                solution = problem.optimize(problem.flux_coefficients(biomass_reaction), "max")
            else:
                solution = problem.optimize(problem.total_flux_coefficients(), "min")
        finally:
            _set_active_dg_margin(problem, None, reactions)
    if not solution.optimal:
        raise RuntimeError(
            f"environment {problem.env.name!r}: the reference TFA problem ({mode}) is "
            f"{solution.status}"
            + (
                "; the sampling margins (sampling.min_abs_dg_kJ / min_abs_flux) may be too large"
                if solution.status == "infeasible"
                and (min_abs_dg_kJ is not None or min_abs_flux is not None)
                else ""
            )
        )
    return solution.values


def _set_active_dg_margin(
    problem: TFAProblem, margin: float | None, reactions: list[str]
) -> None:
    """Require |dG| >= margin of ``reactions`` when active (None: back to epsilon).

    DG + (M + margin - eps) FU <= M - eps gives DG <= -margin when FU = 1 and leaves the
    inactive case (DG <= M - eps) as it was; likewise for BU.
    """
    for reaction_id in reactions:
        forward_sign, backward_sign = problem.direction_constraints[reaction_id]
        big_m, epsilon = problem.big_m_of[reaction_id], problem.settings.epsilon_kJ
        coefficient = big_m + (epsilon if margin is None else margin) - epsilon
        forward_sign.set_linear_coefficients({problem.forward_use[reaction_id]: coefficient})
        backward_sign.set_linear_coefficients({problem.backward_use[reaction_id]: coefficient})


def _add_minimum_active_flux(
    problem: TFAProblem, min_abs_flux: float, reactions: list[str]
) -> None:
    """F_j >= min_abs_flux FU_j and R_j >= min_abs_flux BU_j for ``reactions`` (inside a
    model context)."""
    model = problem.model
    interface = model.problem
    constraints, coefficients = [], {}
    for reaction_id in reactions:
        reaction = model.reactions.get_by_id(reaction_id)
        for name, flux, use in (
            (f"FUmin_{reaction_id}", reaction.forward_variable, problem.forward_use[reaction_id]),
            (f"BUmin_{reaction_id}", reaction.reverse_variable, problem.backward_use[reaction_id]),
        ):
            constraint = interface.Constraint(Zero, lb=0, name=name)
            constraints.append(constraint)
            coefficients[constraint] = {flux: 1.0, use: -min_abs_flux}
    model.add_cons_vars(constraints)
    model.solver.update()
    for constraint, terms in coefficients.items():
        constraint.set_linear_coefficients(terms)
