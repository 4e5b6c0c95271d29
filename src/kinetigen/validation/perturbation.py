"""Nonlinear perturbation tests: does a kinetic model return to its steady state?

A model is perturbed by scaling its steady-state concentrations with random factors in
[1 - p, 1 + p], corrected so that conserved moiety totals stay as they were, and integrated with
a stiff solver and the analytic Jacobian. It returns when every concentration is within a
relative tolerance of the steady state at the return time and stays there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kinetigen.kinetics import KineticModel, NonlinearModel
from kinetigen.kinetics.nonlinear import IntegrationSettings, RhsBudgetExceeded, RightHandSide
from kinetigen.parallel import log_progress, map_tasks
from kinetigen.validation.ensembles import ModelSet

log = logging.getLogger(__name__)

# The test resolves 1 % deviations: 1e-4 relative error is ample, and tighter tolerances make
# stiff models (eigenvalues down to -1e4 1/h) crawl.
RETURN_INTEGRATION = IntegrationSettings(rtol=1e-4, atol_fraction=1e-6)



def perturb_concentrations(
    x_ref: np.ndarray,
    magnitude: float,
    rng: np.random.Generator,
    conservation: np.ndarray | None = None,
    max_tries: int = 100,
) -> np.ndarray:
    """Scale ``x_ref`` by factors in [1 - magnitude, 1 + magnitude], keeping moiety totals.

    ``conservation`` (moieties x metabolites) holds the conservation relations L, so that
    L x is constant along every trajectory. The scaled vector is moved back onto L x = L x_ref
    with the smallest change relative to each concentration (weighted least squares). Draws
    whose correction would make a concentration non-positive are redrawn.
    """
    x_ref = np.asarray(x_ref, dtype=float)
    if not 0 <= magnitude < 1:
        raise ValueError(f"perturbation magnitude must be in [0, 1), got {magnitude}")
    for _ in range(max_tries):
        x = x_ref * rng.uniform(1 - magnitude, 1 + magnitude, size=x_ref.shape)
        if conservation is not None and conservation.size:
            weights = x**2  # relative least change: each metabolite moves in proportion to itself
            gap = conservation @ x_ref - conservation @ x
            gram = (conservation * weights) @ conservation.T
            x = x + weights * (conservation.T @ np.linalg.solve(gram, gap))
        if np.all(x > 0):
            return x
    raise RuntimeError(
        f"no positive perturbation of magnitude {magnitude} keeps the moiety totals "
        f"after {max_tries} draws"
    )


@dataclass
class ReturnResult:
    returned: bool
    time_to_return: float  # h; inf if it did not return by the end of the integration
    max_deviation: float  # largest relative deviation from the steady state along the way
    final_deviation: float
    solver_status: str
    times: np.ndarray | None = None  # h, the solver's output grid (None when it failed)
    deviation: np.ndarray | None = None  # largest relative deviation at each time


def integrate_return(
    rhs: RightHandSide,
    jac: Callable[[float, np.ndarray], np.ndarray] | None,
    x0: np.ndarray,
    x_ref: np.ndarray,
    return_time: float,
    tolerance: float = 0.01,
    n_points: int = 200,
    horizon_factor: float = 2.0,
    integration: IntegrationSettings = RETURN_INTEGRATION,
) -> ReturnResult:
    """Integrate from ``x0`` and decide whether the model is back at ``x_ref`` by ``return_time``.

    The integration runs to ``horizon_factor * return_time`` so that a trajectory that only
    passes through the tolerance band at ``return_time`` does not count as returned.
    """
    t_end = horizon_factor * return_time
    t_eval = np.linspace(0.0, t_end, n_points + 1)
    try:
        solution = integration.solve(rhs, t_end, x0, x_ref, jac=jac, t_eval=t_eval)
    except RhsBudgetExceeded:
        message = f"stopped: over {integration.max_rhs_evaluations} rhs evaluations"
        return ReturnResult(False, np.inf, np.inf, np.inf, message)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        return ReturnResult(False, np.inf, np.inf, np.inf, f"error: {error}")
    if not solution.success or solution.y.shape[1] != len(t_eval):
        return ReturnResult(False, np.inf, np.inf, np.inf, f"failed: {solution.message}")
    if not np.all(np.isfinite(solution.y)) or np.any(solution.y <= 0):
        # Rate laws need positive concentrations; a trajectory that leaves them is lost.
        return ReturnResult(False, np.inf, np.inf, np.inf, "non-positive concentration")
    deviation = np.max(np.abs(solution.y - x_ref[:, None]) / x_ref[:, None], axis=0)
    outside = np.flatnonzero(deviation > tolerance)
    if outside.size == 0:
        time_to_return = 0.0
    elif outside[-1] == len(t_eval) - 1:
        time_to_return = np.inf
    else:
        time_to_return = float(t_eval[outside[-1] + 1])
    return ReturnResult(
        returned=bool(time_to_return <= return_time),
        time_to_return=time_to_return,
        max_deviation=float(deviation.max()),
        final_deviation=float(deviation[-1]),
        solver_status="success",
        times=t_eval,
        deviation=deviation,
    )


# --------------------------------------------------------------------------------------------
# Ensembles


def _test_one_model(
    shared: tuple[KineticModel, list[float], int, float], task: tuple
) -> tuple[list[dict], list[dict]]:
    """All perturbations of one model (one worker task; the kinetic model and the test
    settings come once per worker): result rows, and trajectory rows of the first repeat at
    each magnitude when the task asks for them."""
    kinetic_model, magnitudes, n_perturbations, tolerance = shared
    group, model_index, position, ln_km, return_time, seed, keep_trajectory = task
    nonlinear = NonlinearModel(kinetic_model, int(position), ln_km)
    rng = np.random.default_rng(seed)
    conservation = nonlinear.conservation_matrix
    rows, trajectory = [], []
    for magnitude in magnitudes:
        for repeat in range(n_perturbations):
            x0 = perturb_concentrations(nonlinear.x_ref, magnitude, rng, conservation)
            result = integrate_return(
                nonlinear.rhs, nonlinear.jac, x0, nonlinear.x_ref, return_time, tolerance
            )
            rows.append(
                {
                    "group": group,
                    "model": model_index,
                    "steady_state": int(position),
                    "magnitude": magnitude,
                    "repeat": repeat,
                    "return_time_h": return_time,
                    "returned": result.returned,
                    "time_to_return_h": result.time_to_return,
                    "max_deviation": result.max_deviation,
                    "final_deviation": result.final_deviation,
                    "solver_status": result.solver_status,
                }
            )
            if keep_trajectory and repeat == 0 and result.times is not None:
                trajectory.extend(
                    {
                        "group": group,
                        "model": model_index,
                        "magnitude": magnitude,
                        "time_h": float(t),
                        "time_per_return_time": float(t / return_time),
                        "deviation": float(d),
                    }
                    for t, d in zip(result.times, result.deviation, strict=True)
                )
    return rows, trajectory


def perturbation_tests(
    kinetic_model: KineticModel,
    model_sets: list[ModelSet],
    magnitudes: list[float],
    n_perturbations: int,
    tolerance: float,
    return_time_factor: float,
    seed: int,
    processes: int = 1,
    trajectory_models: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Perturb every model of ``model_sets`` (kinetigen.validation.ensembles.ModelSet)
    ``n_perturbations`` times at each magnitude and test its return.

    The return time is ``return_time_factor`` doubling times (ln 2 / growth rate) of the
    model's steady state. Returns the result table, one row per perturbation: group, model,
    steady_state, magnitude, repeat, return_time_h, returned, time_to_return_h,
    max_deviation, final_deviation, solver_status, lambda_max, threshold, margin
    (lambda_max / threshold: above 1 for valid models); and the trajectories of the first
    ``trajectory_models`` models of each group (first repeat per magnitude): group, model,
    magnitude, time_h, time_per_return_time, deviation (largest relative deviation).
    """
    tasks = []
    for model_set in model_sets:
        for i in range(len(model_set)):
            position = int(model_set.positions[i])
            doubling = np.log(2.0) / max(float(kinetic_model.growth_rate[position]), 1e-12)
            tasks.append(
                (
                    model_set.group,
                    i,
                    position,
                    model_set.ln_km[i],
                    return_time_factor * doubling,
                    [seed, len(tasks)],
                    i < trajectory_models,
                )
            )
    rows: list[dict] = []
    trajectories: list[dict] = []
    log.info(
        "perturbation tests: %d models x %d perturbations",
        len(tasks),
        len(magnitudes) * n_perturbations,
    )
    results = map_tasks(
        _test_one_model,
        (kinetic_model, magnitudes, n_perturbations, tolerance),
        tasks,
        processes,
        chunksize=4,
        on_result=lambda done, _: log_progress(log, "perturbation tests:", done, len(tasks)),
    )
    for model_rows, trajectory in results:
        rows.extend(model_rows)
        trajectories.extend(trajectory)
    table = pd.DataFrame(rows)
    keys = list(zip(table["group"], table["model"], strict=True))
    for column in ("lambda_max", "threshold"):
        values = {
            (model_set.group, i): float(getattr(model_set, column)[i])
            for model_set in model_sets
            for i in range(len(model_set))
        }
        table[column] = [values[key] for key in keys]
    table["margin"] = table["lambda_max"] / table["threshold"]
    return table, pd.DataFrame(trajectories)


# Bins of lambda_max / threshold: valid models lie above 1 (1 = just valid), the
# stable-but-slow control between 0 and 1, unstable models below 0.
MARGIN_BINS = (-np.inf, 0.0, 1.0, 1.5, 2.0, 4.0, np.inf)
MARGIN_LABELS = ("<0", "0-1", "1-1.5", "1.5-2", "2-4", ">=4")


def return_summary(table: pd.DataFrame, by_margin: bool = False) -> pd.DataFrame:
    """Fraction of perturbations after which the model returned, per group and magnitude
    (and, with ``by_margin``, per bin of lambda_max / threshold, :data:`MARGIN_LABELS`)."""
    keys = ["group", "magnitude"]
    if by_margin:
        table = table.assign(
            margin_bin=pd.cut(
                table["margin"], list(MARGIN_BINS), labels=list(MARGIN_LABELS), right=False
            ).astype(str)
        )
        keys.append("margin_bin")
    grouped = table.groupby(keys)
    return grouped.agg(
        n_models=("model", "nunique"),
        n_perturbations=("returned", "size"),
        fraction_returned=("returned", "mean"),
        median_time_to_return_h=("time_to_return_h", "median"),
        solver_failures=("solver_status", lambda s: int((s != "success").sum())),
    ).reset_index()
