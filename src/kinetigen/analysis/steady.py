"""Steady states of one nonlinear kinetic model: a Newton root solver and stiff integration.

Both keep the conserved moiety totals of :class:`NonlinearModel` (an enzyme-level change
moves no total) and work on the independent states x_I, in ln x so that concentrations stay
positive.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kinetigen.kinetics import NonlinearModel
from kinetigen.kinetics.nonlinear import IntegrationSettings, RhsBudgetExceeded

# A concentration below this fraction of its reference steady state is "depleted", one above
# ACCUMULATION_FACTOR times it "accumulates": either ends the integration without a steady
# state (the rate laws need x > 0, and nothing in the model bounds an accumulating pool).
DEPLETION_FRACTION = 1e-6
ACCUMULATION_FACTOR = 1e4

# The end point is polished by Newton and compared with the trajectory at 1 % (the settling
# tolerance): tight tolerances keep the integration error far below it.
SETTLE_INTEGRATION = IntegrationSettings(rtol=1e-6, atol_fraction=1e-9)


def with_enzyme_levels(nonlinear: NonlinearModel, fold: np.ndarray) -> NonlinearModel:
    """A copy of ``nonlinear`` whose Vmax are multiplied by ``fold`` [reactions] (same Km,
    Keq, boundary concentrations and moiety totals; the reference state is kept)."""
    changed = copy.copy(nonlinear)
    changed.vmax = nonlinear.vmax * np.asarray(fold, dtype=float)
    return changed


@dataclass
class RootResult:
    """Newton's answer: full state ``x`` (mol/L), whether it converged, the largest balance
    residual relative to the turnover of each independent state, iterations used."""

    x: np.ndarray
    converged: bool
    residual: float
    iterations: int
    message: str = ""


def _scaled_residual(nonlinear: NonlinearModel, x: np.ndarray, turnover: np.ndarray) -> np.ndarray:
    return nonlinear.rhs(0.0, x)[nonlinear.model.independent] / turnover


def solve_steady_state(
    nonlinear: NonlinearModel,
    x_start: np.ndarray,
    tolerance: float = 1e-12,
    max_iterations: int = 100,
) -> RootResult:
    """Newton's method on N_R v(x) = 0 in ln x_I from ``x_start`` (full state), with the
    moiety totals of ``nonlinear`` and a backtracking line search that keeps every
    concentration positive.

    Converged when every balance is below ``tolerance`` times the turnover of its state
    (sum_j |N_ij v_j| at the start). Past that it goes on while full Newton steps still
    lower the residual: a slow mode (eigenvalue -1 1/h beside turnovers of 1e6 1/h) turns a
    residual of 1e-12 into a relative error of 1e-6 in x, too much for finite differences.
    """
    model = nonlinear.model
    independent = model.independent
    reduced_stoichiometry = np.abs(model.stoichiometry[independent])
    x = nonlinear.expand(np.asarray(x_start, dtype=float)[independent])
    if np.any(x <= 0) or not np.all(np.isfinite(x)):
        return RootResult(x, False, np.inf, 0, "start point not positive")
    turnover = np.maximum(reduced_stoichiometry @ np.abs(nonlinear.rates(x)), 1e-300)
    residual = _scaled_residual(nonlinear, x, turnover)
    norm = float(np.abs(residual).max(initial=0.0))
    message = "iteration limit"
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        x_independent = x[independent]
        # d f / d ln x_I = J_red diag(x_I), rows scaled like the residual.
        jacobian = nonlinear.jac_reduced(0.0, x_independent) * x_independent / turnover[:, None]
        try:
            step = np.linalg.solve(jacobian, -residual)
        except np.linalg.LinAlgError:
            message = "singular Jacobian"
            break
        if not np.all(np.isfinite(step)):
            message = "non-finite Newton step"
            break
        alpha = 1.0
        polishing = norm <= tolerance  # converged: full steps only, while they still help
        while alpha > 1e-10:
            with np.errstate(over="ignore", invalid="ignore"):  # a step too long: rejected
                trial = nonlinear.expand(x_independent * np.exp(alpha * step))
            if np.all(trial > 0):
                trial_residual = _scaled_residual(nonlinear, trial, turnover)
                trial_norm = float(np.abs(trial_residual).max(initial=0.0))
                if np.isfinite(trial_norm) and trial_norm < norm:
                    break
            if polishing:
                alpha = 0.0
                break
            alpha *= 0.5
        if alpha <= 1e-10:
            message = "" if polishing else "line search failed"
            break
        x, residual, norm = trial, trial_residual, trial_norm
        if norm == 0.0:
            message = ""
            break
    return RootResult(x, norm <= tolerance, norm, iterations, "" if norm <= tolerance else message)


@dataclass
class SettleResult:
    """Outcome of :func:`settle`: ``reached`` a steady state ``x`` (mol/L) with rates
    ``rates`` (mol/L/h); ``time_to_settle`` (h) after which every concentration and rate
    stays within the tolerance of its new value; ``reason`` when not reached."""

    reached: bool
    x: np.ndarray | None
    rates: np.ndarray | None
    time_to_settle: float
    reason: str = ""
    lambda_max: float = float("nan")
    extras: dict = field(default_factory=dict)


def _event(function):
    function.terminal = True
    return function


def settle(
    nonlinear: NonlinearModel,
    x0: np.ndarray,
    horizon: float,
    tolerance: float = 0.01,
    n_points: int = 400,
    integration: IntegrationSettings = SETTLE_INTEGRATION,
) -> SettleResult:
    """Integrate ``nonlinear`` from ``x0`` (full state) to ``horizon`` hours (solver,
    tolerances and budget: ``integration``), then polish the end point with
    :func:`solve_steady_state`.

    A steady state is reached when the polished point is positive, locally stable and
    within ``tolerance`` (relative) of the end of the trajectory in every concentration and
    rate. Otherwise ``reason`` says why not: a metabolite depleted or accumulating (named),
    still changing at the horizon, a solver failure or the evaluation budget.
    """
    x_ref = np.asarray(x0, dtype=float)
    try:
        solution = _integrate(nonlinear, x_ref, horizon, n_points, integration)
    except RhsBudgetExceeded:
        return _not_settled(f"over {integration.max_rhs_evaluations} rhs evaluations")
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        return _not_settled(f"solver error: {error}")
    for index, word in ((0, "depleted"), (1, "accumulated")):
        if len(solution.t_events[index]):
            ratio = solution.y_events[index][0] / x_ref
            position = int(np.argmin(ratio) if index == 0 else np.argmax(ratio))
            return _not_settled(
                f"metabolite {nonlinear.model.states[position]} {word} at "
                f"t = {solution.t_events[index][0]:.3g} h"
            )
    if not solution.success:
        return _not_settled(f"solver failed: {solution.message}")
    return _settled(nonlinear, solution, horizon, tolerance)


def _not_settled(reason: str) -> SettleResult:
    return SettleResult(False, None, None, np.inf, reason)


def _integrate(
    nonlinear: NonlinearModel,
    x_ref: np.ndarray,
    horizon: float,
    n_points: int,
    integration: IntegrationSettings,
) -> Any:
    """solve_ivp from ``x_ref`` to ``horizon``, stopped when a metabolite is depleted or
    accumulates (terminal events); log-spaced output times."""
    floor = x_ref * DEPLETION_FRACTION * 1e-3

    def rhs(t: float, x: np.ndarray) -> np.ndarray:
        if np.any(x <= 0):  # the solver probes past a depletion event; keep the logs finite
            x = np.maximum(x, floor)
        return nonlinear.rhs(t, x)

    def jac(t: float, x: np.ndarray) -> np.ndarray:
        return nonlinear.jac(t, np.maximum(x, floor))

    @_event
    def depleted(t: float, x: np.ndarray) -> float:
        return float(np.min(x / x_ref)) - DEPLETION_FRACTION

    @_event
    def accumulated(t: float, x: np.ndarray) -> float:
        return ACCUMULATION_FACTOR - float(np.max(x / x_ref))

    t_eval = np.concatenate([[0.0], np.geomspace(horizon * 1e-7, horizon, n_points)])
    return integration.solve(
        rhs, horizon, x_ref, x_ref, jac=jac, t_eval=t_eval, events=[depleted, accumulated]
    )


def _settled(
    nonlinear: NonlinearModel, solution: Any, horizon: float, tolerance: float
) -> SettleResult:
    """The steady state nearest the trajectory's end, if the trajectory has settled on it
    (within ``tolerance`` at the horizon) and it is stable."""
    root = solve_steady_state(nonlinear, solution.y[:, -1])
    if not root.converged:
        return _not_settled(f"no steady state near the end point ({root.message})")
    x_new = root.x
    rates_new = nonlinear.rates(x_new)
    trajectory_rates = np.array([nonlinear.rates(x) for x in solution.y.T])
    scale_rates = np.maximum(np.abs(rates_new), 1e-12 * np.abs(rates_new).max(initial=1.0))
    deviation = np.maximum(
        np.max(np.abs(solution.y - x_new[:, None]) / x_new[:, None], axis=0),
        np.max(np.abs(trajectory_rates - rates_new) / scale_rates, axis=1),
    )
    if deviation[-1] > tolerance:
        return _not_settled(
            f"still changing at the horizon ({horizon:.3g} h): {deviation[-1]:.2g} from the "
            "nearest steady state"
        )
    independent = nonlinear.model.independent
    eigenvalues = np.linalg.eigvals(nonlinear.jac_reduced(0.0, x_new[independent]))
    lambda_max = float(eigenvalues.real.max(initial=-np.inf))
    if lambda_max >= 0:
        return _not_settled(f"new steady state unstable (lambda_max {lambda_max:.3g})")
    outside = np.flatnonzero(deviation > tolerance)
    time_to_settle = 0.0 if outside.size == 0 else float(solution.t[outside[-1] + 1])
    return SettleResult(True, x_new, rates_new, time_to_settle, lambda_max=lambda_max)
