"""Thermodynamic variability analysis: the range of every flux, dG and ln c under TFA.

Each range is a pair of MILPs (minimise, maximise) on the TFA problem of one environment with
growth held at or above the configured minimum. What keeps it fast without changing any
answer:

- the MILP is handed to HiGHS once (:class:`kinetigen.sampling.solver.HighsMILP`); only the
  objective changes between problems;
- every solution found is feasible for all later problems, so each MILP starts from the best
  known point for its objective (a warm start: HiGHS then only has to prove optimality);
- a variable whose best known value already sits on its own bound needs no MILP at all.

With a solver other than HiGHS (e.g. GLPK) the problems go through optlang one by one,
without warm starts. Ranges are exact up to the solver's relative MIP gap (HiGHS: 1e-4).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np
import pandas as pd

from kinetigen.columns import DG, FLUX, LNC, columns, split_column
from kinetigen.sampling.problem import TFAProblem
from kinetigen.sampling.solver import HighsMILP, is_highs

logger = logging.getLogger(__name__)

VARIABILITY_COLUMNS = ["variable", "kind", "id", "minimum", "maximum"]
# A known value this close to a variable's bound (relative to max(1, |bound|)) attains it.
BOUND_TOLERANCE = 1e-7


def variability_targets(problem: TFAProblem) -> list[str]:
    """Every variable the analysis covers: flux:<reaction>, dg:<reaction>, lnc:<metabolite>."""
    return (
        columns(FLUX, [r.id for r in problem.model.reactions])
        + columns(DG, problem.env.constrained)
        + columns(LNC, problem.lnc)
    )


def thermodynamic_variability(
    problem: TFAProblem,
    min_growth: float,
    variables: Iterable[str] | None = None,
    log_every: int = 50,
) -> pd.DataFrame:
    """Minimum and maximum of net fluxes (mmol/gDW/h), dG (kJ/mol) and ln c (ln mol/L).

    Parameters
    ----------
    problem
        The TFA problem of one environment (not relaxed); left as it was found.
    min_growth
        Growth (1/h) held during the analysis (biomass flux >= min_growth).
    variables
        A subset of :func:`variability_targets` names; all of them by default.
    log_every
        Log progress every this many MILPs.

    Returns
    -------
    DataFrame with columns variable (e.g. "flux:PGI", "dg:PGI", "lnc:g6p_c"), kind (flux | dg |
    lnc), id, minimum, maximum; one row per variable in the order asked.
    """
    targets = variability_targets(problem) if variables is None else list(variables)
    start_time = time.perf_counter()
    model = problem.model
    with model:
        biomass = model.reactions.get_by_id(problem.env.biomass_reaction)
        biomass.lower_bound = max(biomass.lower_bound, min_growth)
        solver = _HighsSolver(problem) if is_highs(model) else _OptlangSolver(problem)
        coefficients, limits = _targets(problem, targets, solver.index)
        result = np.full((len(targets), 2), np.nan)
        best = _BestKnown(len(targets), coefficients)
        solved = skipped = 0
        for row, target in enumerate(targets):
            for column, direction in enumerate(("min", "max")):
                known, point = best.get(row, direction)
                bound = limits[row][column]
                if point is not None and abs(known - bound) <= BOUND_TOLERANCE * max(
                    1.0, abs(bound)
                ):
                    result[row, column] = bound
                    skipped += 1
                    continue
                status, value, solution = solver.solve(coefficients[row], direction, point)
                solved += 1
                if solution is None:
                    raise RuntimeError(
                        f"environment {problem.env.name!r}: variability of {target} "
                        f"({direction}) is {status}"
                    )
                result[row, column] = value
                best.add(solution)
                if solved % log_every == 0:
                    logger.info(
                        "environment %s: variability %d MILPs solved, %d skipped, %.1f s",
                        problem.env.name, solved, skipped, time.perf_counter() - start_time,
                    )
    logger.info(
        "environment %s: variability of %d variables from %d MILPs (%d skipped) in %.1f s",
        problem.env.name, len(targets), solved, skipped, time.perf_counter() - start_time,
    )
    kinds = [split_column(target)[0] for target in targets]
    ids = [split_column(target)[1] for target in targets]
    return pd.DataFrame(
        {
            "variable": targets,
            "kind": kinds,
            "id": ids,
            "minimum": result[:, 0],
            "maximum": result[:, 1],
        },
        columns=VARIABILITY_COLUMNS,
    )


def _targets(
    problem: TFAProblem, targets: list[str], index: dict[str, int]
) -> tuple[list[dict[int, float]], list[tuple[float, float]]]:
    """Objective coefficients (by column) and (lower, upper) bound of each target."""
    coefficients: list[dict[int, float]] = []
    limits: list[tuple[float, float]] = []
    for target in targets:
        kind, identifier = split_column(target)
        if kind == FLUX and identifier in problem.model.reactions:
            reaction = problem.model.reactions.get_by_id(identifier)
            coefficients.append(
                {
                    index[reaction.forward_variable.name]: 1.0,
                    index[reaction.reverse_variable.name]: -1.0,
                }
            )
            limits.append(reaction.bounds)
        elif kind in (DG, LNC) and identifier in (problem.dg if kind == DG else problem.lnc):
            variable = (problem.dg if kind == DG else problem.lnc)[identifier]
            coefficients.append({index[variable.name]: 1.0})
            limits.append((variable.lb, variable.ub))
        else:
            raise ValueError(
                f"environment {problem.env.name!r}: no variability target {target!r} "
                "(expected flux:<reaction>, dg:<constrained reaction> or lnc:<metabolite>)"
            )
    return coefficients, limits


class _BestKnown:
    """The best value of every target over all solutions found so far, with its solution."""

    def __init__(self, n_targets: int, coefficients: list[dict[int, float]]) -> None:
        self.coefficients = coefficients
        self.low = np.full(n_targets, np.inf)
        self.high = np.full(n_targets, -np.inf)
        self.low_point: list[np.ndarray | None] = [None] * n_targets
        self.high_point: list[np.ndarray | None] = [None] * n_targets

    def add(self, solution: np.ndarray) -> None:
        for row, terms in enumerate(self.coefficients):
            value = sum(solution[i] * c for i, c in terms.items())
            if value < self.low[row]:
                self.low[row], self.low_point[row] = value, solution
            if value > self.high[row]:
                self.high[row], self.high_point[row] = value, solution

    def get(self, row: int, direction: str) -> tuple[float, np.ndarray | None]:
        if direction == "min":
            return float(self.low[row]), self.low_point[row]
        return float(self.high[row]), self.high_point[row]


class _HighsSolver:
    """HiGHS with warm starts (see the module docstring)."""

    def __init__(self, problem: TFAProblem) -> None:
        self.milp = HighsMILP(problem.model)
        self.index = self.milp.index

    def solve(
        self, coefficients: dict[int, float], direction: str, start: np.ndarray | None
    ) -> tuple[str, float, np.ndarray | None]:
        return self.milp.solve_array(coefficients, direction, start)


class _OptlangSolver:
    """Any other optlang solver, one problem at a time (no warm starts)."""

    def __init__(self, problem: TFAProblem) -> None:
        self.problem = problem
        self.variables = list(problem.model.variables)
        self.index = {variable.name: i for i, variable in enumerate(self.variables)}

    def solve(
        self, coefficients: dict[int, float], direction: str, start: np.ndarray | None
    ) -> tuple[str, float, np.ndarray | None]:
        solution = self.problem.optimize(
            {self.variables[i]: c for i, c in coefficients.items()}, direction
        )
        if not solution.optimal:
            return solution.status, np.nan, None
        values = np.array([solution.values[v.name] for v in self.variables])
        return solution.status, solution.objective, values
