"""One batch simulation: solve to exhaustion, classify how the run ended, check the balances."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from kinetigen.kinetics import KineticModel
from kinetigen.settings import BioreactorSettings
from kinetigen.validation.bioreactor.system import BioreactorModel, EvaluationBudgetExceeded

CONCENTRATION_SUFFIX = "_mmol_per_L"
BALANCE_PREFIX = "balance_error:"

# Statuses of one simulation; only EXHAUSTED means the run reached its goal.
EXHAUSTED = "exhausted"
MAX_TIME = "max_time_reached"
NON_POSITIVE = "non_positive_concentration"
SOLVER_FAILED = "solver_failed"
INVALID_PARAMETERS = "invalid_parameters"

_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(5)


def concentration_column(metabolite: str) -> str:
    """Time-course column of an extracellular metabolite (mmol/L)."""
    return metabolite + CONCENTRATION_SUFFIX


@dataclass
class BatchResult:
    """One simulation: ``time_course`` (columns time_h, biomass_gDW_per_L,
    growth_rate_per_h, one ``<id>_mmol_per_L`` per dynamic extracellular metabolite) and the
    ``summary`` row (see :func:`simulate_batch`)."""

    time_course: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _base_summary(system: BioreactorModel) -> dict[str, Any]:
    kinetic_model = system.kinetic_model
    return {
        "steady_state": system.steady_state,
        "sample_id": kinetic_model.sample_ids[system.steady_state],
        "substrate": system.substrate,
        "steady_state_growth_rate_per_h": float(kinetic_model.growth_rate[system.steady_state]),
        "initial_biomass_gDW_per_L": system.settings.initial_biomass_gDW_per_L,
        "initial_substrate_mmol_per_L": float(
            1e3 * system.y0[system.n_states + system.substrate_index]
        ),
    }


def _failure(system: BioreactorModel, status: str, message: str, wall: float) -> BatchResult:
    summary = _base_summary(system) | {
        "status": status,
        "reached_exhaustion": False,
        "exhaustion_time_h": math.nan,
        "end_time_h": 0.0,
        "final_biomass_gDW_per_L": math.nan,
        "yield_gDW_per_mmol": math.nan,
        "substrate_consumed_mmol_per_L": math.nan,
        "initial_growth_rate_per_h": math.nan,
        "final_growth_rate_per_h": math.nan,
        "lowest_intracellular": "",
        "lowest_intracellular_fold": math.nan,
        "substrate_balance_error": math.nan,
        "product_balance_error": math.nan,
        "n_steps": 0,
        "wall_s": wall,
        "message": message,
    }
    for metabolite in system.extracellular:
        summary[BALANCE_PREFIX + metabolite] = math.nan
    columns = ["time_h", "biomass_gDW_per_L", "growth_rate_per_h"] + [
        concentration_column(m) for m in system.extracellular
    ]
    return BatchResult(pd.DataFrame(columns=columns), summary)


def _terminal_event(function: Any) -> Any:
    """A terminal event for solve_ivp that fires when ``function`` falls through zero."""

    def event(t: float, y: np.ndarray) -> float:
        return function(t, y)

    event.terminal = True  # type: ignore[attr-defined]
    event.direction = -1  # type: ignore[attr-defined]
    return event


def exchange_integrals(system: BioreactorModel, solution: Any) -> np.ndarray:
    """Quadrature of dS/dt = X q (mol/L medium) over the run, per dynamic extracellular
    metabolite, from the solver's dense output (5-point Gauss-Legendre per solver step)."""
    steps = np.asarray(solution.t, dtype=float)
    left, right = steps[:-1], steps[1:]
    keep = right > left
    left, right = left[keep], right[keep]
    half = 0.5 * (right - left)
    nodes = (0.5 * (left + right))[:, None] + half[:, None] * _GAUSS_NODES[None, :]
    states = solution.sol(nodes.ravel())  # [size, points]
    integrand = np.empty((system.n_extracellular, states.shape[1]))
    for k in range(states.shape[1]):
        y = states[:, k]
        # X q with q in mol/gDW/h equals (X / rho) N_S v.
        integrand[:, k] = y[-1] * 1e-3 * system.specific_exchange(y)
    weights = (half[:, None] * _GAUSS_WEIGHTS[None, :]).ravel()
    return integrand @ weights


def simulate_batch(
    kinetic_model: KineticModel,
    steady_state: int,
    ln_km: np.ndarray,
    settings: BioreactorSettings | Mapping[str, Any] | None = None,
) -> BatchResult:
    """Simulate one model in batch culture until substrate exhaustion or the maximum time.

    Parameters
    ----------
    kinetic_model
        The environment's kinetic model.
    steady_state
        Position of the steady state (start of the intracellular and extracellular states).
    ln_km
        ln of Km (mol/L) in the kinetic model's parameter order.
    settings
        :class:`BioreactorSettings`, a workflow config, or None for the defaults.

    Returns
    -------
    BatchResult
        Summary keys: steady_state, sample_id, substrate, status (``exhausted``,
        ``max_time_reached``, ``non_positive_concentration``, ``solver_failed``,
        ``invalid_parameters``), reached_exhaustion, exhaustion_time_h, end_time_h,
        final_biomass_gDW_per_L, yield_gDW_per_mmol, substrate_consumed_mmol_per_L,
        initial_growth_rate_per_h, steady_state_growth_rate_per_h, substrate_balance_error,
        product_balance_error (largest over the other dynamic metabolites; NaN if none),
        ``balance_error:<id>`` per metabolite (relative), n_steps, wall_s, message.
    """
    start = time.perf_counter()
    system = BioreactorModel(kinetic_model, steady_state, ln_km, settings)
    vmax = system.nonlinear.vmax
    if not (np.all(np.isfinite(vmax)) and np.all(vmax > 0)):
        return _failure(
            system,
            INVALID_PARAMETERS,
            "Vmax is not finite and positive for these Km",
            time.perf_counter() - start,
        )
    try:
        solution = _integrate(system)
    except (
        ValueError,
        ArithmeticError,
        np.linalg.LinAlgError,
        EvaluationBudgetExceeded,
    ) as error:
        return _failure(
            system, SOLVER_FAILED, f"{type(error).__name__}: {error}", time.perf_counter() - start
        )
    status, message = _how_it_ended(system, solution)
    balance = _balance_errors(system, solution)
    summary = _base_summary(system) | _run_summary(system, solution, status, balance)
    summary["wall_s"] = time.perf_counter() - start
    summary["message"] = message
    for metabolite, error in zip(system.extracellular, balance, strict=True):
        summary[BALANCE_PREFIX + metabolite] = float(error)
    return BatchResult(_time_course(system, solution, float(solution.t[-1])), summary)


def _integrate(system: BioreactorModel) -> Any:
    """solve_ivp from the steady state, stopped by exhaustion or a negative state."""
    settings = system.settings
    events = [_terminal_event(system.exhaustion_event), _terminal_event(system.positivity_event)]
    return solve_ivp(
        system.rhs,
        (0.0, settings.max_time_h),
        system.y0,
        method=settings.method,
        jac=system.jac,
        events=events,
        dense_output=True,
        rtol=settings.rtol,
        atol=settings.atol_fraction * system.y0,
    )


def _exhausted(solution: Any) -> bool:
    return solution.status == 1 and len(solution.t_events[0]) > 0


def _how_it_ended(system: BioreactorModel, solution: Any) -> tuple[str, str]:
    """Status and message of a finished integration."""
    t_end = float(solution.t[-1])
    y_end = solution.y[:, -1]
    if _exhausted(solution):
        return EXHAUSTED, "substrate exhausted"
    if solution.status == 1:
        index = int(np.argmin(y_end / system.y0))
        return NON_POSITIVE, (
            f"state {system.names[index]} fell below zero (beyond its absolute tolerance) "
            f"at t = {t_end:.4g} h"
        )
    if solution.status == 0:
        return MAX_TIME, _max_time_message(system, y_end)
    message = str(solution.message)
    if system.last_invalid is not None:
        when, name, value = system.last_invalid
        message += (
            f"; last state tried with a non-positive concentration: {name} = {value:.3g} "
            f"at t = {when:.4g} h"
        )
    return SOLVER_FAILED, message


def _max_time_message(system: BioreactorModel, y_end: np.ndarray) -> str:
    """How far the substrate got, and where growth stopped if it did."""
    substrate = system.n_states + system.substrate_index
    remaining = y_end[substrate] / system.y0[substrate]
    message = (
        f"substrate at {100 * remaining:.3g} % of its start after {system.settings.max_time_h} h"
    )
    initial_growth = system.growth_rate(system.y0)
    final_growth = system.growth_rate(y_end)
    if final_growth < 1e-3 * initial_growth:
        lowest = int(np.argmin(y_end[: system.n_states] / system.y0[: system.n_states]))
        message += (
            f"; growth stopped (mu = {final_growth:.3g} 1/h), lowest intracellular "
            f"{system.names[lowest]} at {y_end[lowest] / system.y0[lowest]:.3g} of its start"
        )
    return message


def _extracellular_change(system: BioreactorModel, solution: Any) -> np.ndarray:
    """S(t_end) - S(0) of the dynamic extracellular metabolites (mol/L medium)."""
    extracellular = slice(system.n_states, system.n_states + system.n_extracellular)
    return solution.y[extracellular, -1] - system.y0[extracellular]


def _balance_errors(system: BioreactorModel, solution: Any) -> np.ndarray:
    """Relative mismatch of each dynamic metabolite's change against the quadrature of its
    exchange rate (floored at the absolute tolerance)."""
    change = _extracellular_change(system, solution)
    if len(solution.t) > 1:
        integral = exchange_integrals(system, solution)
    else:
        integral = np.zeros_like(change)
    extracellular = slice(system.n_states, system.n_states + system.n_extracellular)
    floor = system.settings.atol_fraction * system.y0[extracellular]
    return np.abs(change - integral) / np.maximum(
        np.maximum(np.abs(change), np.abs(integral)), floor
    )


def _run_summary(
    system: BioreactorModel, solution: Any, status: str, balance: np.ndarray
) -> dict[str, Any]:
    """Summary values of a finished integration (see :func:`simulate_batch`)."""
    settings = system.settings
    t_end = float(solution.t[-1])
    y_end = solution.y[:, -1]
    exhausted = _exhausted(solution)
    consumed = float(-1e3 * _extracellular_change(system, solution)[system.substrate_index])
    lowest_intracellular = int(np.argmin(y_end[: system.n_states] / system.y0[: system.n_states]))
    biomass_end = float(y_end[-1])
    others = [i for i in range(system.n_extracellular) if i != system.substrate_index]
    return {
        "status": status,
        "reached_exhaustion": bool(exhausted),
        "exhaustion_time_h": t_end if exhausted else math.nan,
        "end_time_h": t_end,
        "final_biomass_gDW_per_L": biomass_end,
        "yield_gDW_per_mmol": (
            (biomass_end - settings.initial_biomass_gDW_per_L) / consumed
            if consumed > 0
            else math.nan
        ),
        "substrate_consumed_mmol_per_L": consumed,
        "initial_growth_rate_per_h": system.growth_rate(system.y0),
        "final_growth_rate_per_h": system.growth_rate(y_end),
        "lowest_intracellular": system.names[lowest_intracellular],
        "lowest_intracellular_fold": float(
            y_end[lowest_intracellular] / system.y0[lowest_intracellular]
        ),
        "substrate_balance_error": float(balance[system.substrate_index]),
        "product_balance_error": float(balance[others].max()) if others else math.nan,
        "n_steps": len(solution.t) - 1,
    }


def _time_course(system: BioreactorModel, solution: Any, t_end: float) -> pd.DataFrame:
    times = np.linspace(0.0, t_end, system.settings.n_time_points)
    states = solution.sol(times) if t_end > 0 else system.y0[:, None]
    times = times if t_end > 0 else np.zeros(1)
    states[:, -1 if t_end > 0 else 0] = solution.y[:, -1]  # the exact end state
    n = system.n_states
    frame = {
        "time_h": times,
        "biomass_gDW_per_L": states[-1],
        "growth_rate_per_h": [system.growth_rate(states[:, k]) for k in range(states.shape[1])],
    }
    for i, metabolite in enumerate(system.extracellular):
        frame[concentration_column(metabolite)] = 1e3 * states[n + i]
    return pd.DataFrame(frame)
