"""Attainability screen (CMA-ES over saturations) and the ORACLE baseline, per environment."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import cma
import numpy as np
import pandas as pd
import scipy.special
import torch

from kinetigen.kinetics.batched import BatchedJacobian
from kinetigen.kinetics.parameters import ParameterSpace, measured_columns
from kinetigen.kinetics.settings import KineticsConfigError
from kinetigen.kinetics.structure import KineticModel
from kinetigen.schema import config_error

logger = logging.getLogger(__name__)

# CMA-ES ranks solutions, so any value above every real lambda_max marks an invalid one.
INVALID_PENALTY = 1.0e30
# Saturations are drawn in [SATURATION_EPS, 1 - SATURATION_EPS] so that Km stays finite.
SATURATION_EPS = 1.0e-12


def resolve_device(device: str) -> torch.device:
    """torch device from config, with a clear error when CUDA is asked for but absent."""
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise config_error(
            "kinetics.device", f"{device!r} asks for CUDA, which is absent", KineticsConfigError
        )
    return resolved


def _bounds_in_model(
    model: KineticModel, parameters: ParameterSpace | pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray] | None:
    if parameters is None:
        return None
    space = parameters if isinstance(parameters, ParameterSpace) else ParameterSpace(parameters)
    space = space.with_measured(model.settings)  # exact, whatever the CSV round trip did
    index = space.index_of(model)
    return space.lower[index], space.upper[index]


def _with_measured(
    model: KineticModel, bounds: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """``bounds`` (ln Km per parameter of ``model``) with the measured Km's ranges; without
    bounds, the configured ones (measured ranges, overrides, km_bounds_M). Unchanged when no
    Km is measured."""
    index, low, high = measured_columns(model.parameter_names, model.settings)
    if not len(index):
        return bounds
    if bounds is None:
        ranges = np.array([model.settings.ln_km_bounds(name) for name in model.parameter_names])
        return ranges[:, 0], ranges[:, 1]
    lower, upper = np.array(bounds[0], dtype=float), np.array(bounds[1], dtype=float)
    lower[index], upper[index] = low, high
    return lower, upper


def _candidate_ln_km(
    model: KineticModel,
    ln_x: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    free: np.ndarray,
) -> Callable[[np.ndarray], np.ndarray]:
    """Map CMA-ES candidates (logit saturations y = ln x - ln Km of the ``free`` parameters)
    to ln Km [n, P]: fixed parameters (equal bounds) take their value, measured ranges are
    closed against rounding."""
    index, low, high = measured_columns(model.parameter_names, model.settings)
    if bounds is None or (free.all() and not len(index)):
        return lambda candidates: ln_x[None, :] - candidates
    fixed = ~free

    def ln_km(candidates: np.ndarray) -> np.ndarray:
        logit = np.zeros((len(candidates), len(ln_x)))
        logit[:, free] = candidates
        values = ln_x[None, :] - logit
        values[:, fixed] = bounds[0][fixed]
        values[:, index] = np.clip(values[:, index], low, high)
        return values

    return ln_km


def _cma_seed(seed: int, position: int) -> int:
    # pycma treats seed 0 as "random"; derive a positive 31-bit seed per steady state.
    state = np.random.SeedSequence([seed, position]).generate_state(1)[0]
    return int(state % (2**31 - 2)) + 1


def _search_steady_state(
    model: KineticModel,
    evaluator: BatchedJacobian,
    position: int,
    seed: int,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    max_evaluations: int,
    popsize: int | None,
    sigma0: float,
) -> tuple[float, int]:
    """One separable CMA-ES run over the logit saturations of steady state ``position``:
    the best finite lambda_max found (inf if none) and the models evaluated. Parameters with
    equal bounds (measured values) are held at them, outside the search."""
    ln_x = model.ln_concentration[position, model.layout.param_metabolite]
    free = np.ones(len(ln_x), dtype=bool) if bounds is None else bounds[0] < bounds[1]
    to_ln_km = _candidate_ln_km(model, ln_x, bounds, free)
    if not free.any():
        lambda_max = float(evaluator.lambda_max(to_ln_km(np.zeros((1, 0))), position)[0])
        return (lambda_max if math.isfinite(lambda_max) else math.inf), 1
    options: dict[str, Any] = {
        "CMA_diagonal": True,
        "seed": _cma_seed(seed, position),
        "maxfevals": max_evaluations,
        "verbose": -9,
        "verb_log": 0,
        "verb_disp": 0,
    }
    if popsize is not None:
        options["popsize"] = popsize
    x0 = np.zeros(int(free.sum()))
    if bounds is not None:
        low, high = (ln_x - bounds[1])[free], (ln_x - bounds[0])[free]
        x0 = np.where((x0 < low) | (x0 > high), 0.5 * (low + high), x0)
        options["bounds"] = [low.tolist(), high.tolist()]
    strategy = cma.CMAEvolutionStrategy(x0, sigma0, options)
    best = math.inf
    evaluations = 0
    while not strategy.stop():
        candidates = strategy.ask()
        ln_km = to_ln_km(np.asarray(candidates))
        lambda_max = evaluator.lambda_max(ln_km, position).cpu().numpy()
        evaluations += len(candidates)
        if np.isfinite(lambda_max).any():
            best = min(best, float(lambda_max[np.isfinite(lambda_max)].min()))
        strategy.tell(
            candidates, np.where(np.isfinite(lambda_max), lambda_max, INVALID_PENALTY).tolist()
        )
    return best, evaluations


def attainability_search(
    model: KineticModel,
    positions: Sequence[int],
    seed: int,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    max_evaluations: int = 5000,
    popsize: int | None = None,
    sigma0: float = 1.0,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Most negative lambda_max that separable CMA-ES finds, per steady state.

    The search variable is the logit saturation y = logit(sigma) = ln(x / Km) of every Km of
    the model, started at sigma = 1/2 with step ``sigma0``; with ``bounds`` (ln Km lower and
    upper per parameter) y stays inside the matching box; measured Km (``kinetics.measured_km``
    of the model's settings) keep their range, and a measured value is held fixed outside the
    search. One run of at most
    ``max_evaluations`` models per steady state; each generation is one batched evaluation.
    Returns columns steady_state (sample id), threshold, best_lambda_max, attainable,
    evaluations, seconds. ``attainable = False`` means "not reached within the budget": the
    search gives an upper bound on the best lambda_max. pycma seeds numpy's global generator
    from the per-steady-state seed derived from ``seed``.
    """
    evaluator = BatchedJacobian(model, device=device)
    bounds = _with_measured(model, bounds)
    rows = []
    for count, position in enumerate(positions, start=1):
        start = time.perf_counter()
        best, evaluations = _search_steady_state(
            model, evaluator, int(position), seed, bounds, max_evaluations, popsize, sigma0
        )
        seconds = time.perf_counter() - start
        threshold = float(model.threshold[position])
        rows.append(
            {
                "steady_state": model.sample_ids[position],
                "threshold": threshold,
                "best_lambda_max": best,
                "attainable": bool(best < threshold),
                "evaluations": evaluations,
                "seconds": seconds,
            }
        )
        logger.info(
            "%s: attainability %d/%d, steady state %r: best lambda_max %.4g 1/h "
            "(threshold %.4g), %d evaluations, %.1f s",
            model.environment,
            count,
            len(positions),
            model.sample_ids[position],
            best,
            threshold,
            evaluations,
            seconds,
        )
    return pd.DataFrame(
        rows,
        columns=[
            "steady_state",
            "threshold",
            "best_lambda_max",
            "attainable",
            "evaluations",
            "seconds",
        ],
    )


def attainability(
    model: KineticModel, seed: int, parameters: ParameterSpace | pd.DataFrame | None = None
) -> pd.DataFrame:
    """Attainability table of one environment (``results/envs/{env}/attainability.csv``), with
    the settings its kinetic ``model`` was built with (:func:`build_kinetic_model`).

    Screens the training steady states (``kinetics.split``, see :attr:`KineticModel.split`);
    with the shared ``parameters`` table the search respects its ln Km bounds (what a
    generator can reach). Columns: steady_state, threshold, best_lambda_max, attainable,
    evaluations, seconds.
    """
    settings = model.settings
    return attainability_search(
        model,
        model.split.train,
        seed=seed,
        bounds=_bounds_in_model(model, parameters),
        max_evaluations=settings.attainability_max_evaluations,
        popsize=settings.attainability_popsize,
        sigma0=settings.attainability_sigma0,
        device=resolve_device(settings.device),
    )


def oracle_batch(
    model: KineticModel, batch: int, batch_size: int, n_total: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws of ORACLE batch ``batch``: (sample indices, steady-state positions, ln Km).

    Sample i uses evaluation steady state i mod S (``model.split.evaluation``, the steady states
    the generator is evaluated on, so both are scored on the same ones); saturations are
    uniform in (0, 1) from a generator seeded by (seed, batch), so any batch can be
    regenerated on its own. A measured Km (``kinetics.measured_km``) restricts its saturation
    to those its range allows at the steady state (:func:`measured_saturation_draw`). With a
    Km prior (``kinetics.km_prior``) the same uniform numbers give ln Km through the truncated
    prior's inverse CDF (:meth:`kinetigen.kinetics.prior.KmPrior.ln_km_from_uniform`).
    """
    first = batch * batch_size
    indices = np.arange(first, min(first + batch_size, n_total))
    rng = np.random.default_rng(np.random.SeedSequence([seed, batch]))
    saturation = rng.random((len(indices), len(model.parameters)))
    saturation = np.clip(saturation, SATURATION_EPS, 1.0 - SATURATION_EPS)
    evaluation = model.split.evaluation
    positions = evaluation[indices % len(evaluation)]
    prior = model.settings.km_prior
    if prior is None:
        ln_km = model.ln_km_from_saturation(saturation, positions)
    else:  # Km from the truncated prior; the saturations follow from them
        bounds = np.array([model.settings.ln_km_bounds(n) for n in model.parameter_names])
        ln_km = prior.ln_km_from_uniform(saturation, bounds[:, 0], bounds[:, 1])
    return indices, positions, measured_saturation_draw(model, saturation, positions, ln_km)


def measured_saturation_draw(
    model: KineticModel, uniform: np.ndarray, positions: np.ndarray, ln_km: np.ndarray
) -> np.ndarray:
    """``ln_km`` [B, P] with its measured columns redrawn: the saturation x / (x + Km) of a
    measured Km is uniform between its values at the range's ends, s(high) and s(low),
    placed by the same uniform numbers ``uniform`` [B, P]; ln Km is then closed into the
    range against rounding (a measured value comes out exactly). Unchanged without measured
    Km."""
    index, low, high = measured_columns(model.parameter_names, model.settings)
    if not len(index):
        return ln_km
    ln_x = model.ln_concentration[np.asarray(positions)][:, model.layout.param_metabolite[index]]
    least, most = scipy.special.expit(ln_x - high), scipy.special.expit(ln_x - low)
    saturation = least + uniform[:, index] * (most - least)
    saturation = np.clip(saturation, SATURATION_EPS, 1.0 - SATURATION_EPS)
    ln_km = np.array(ln_km, dtype=float)
    drawn = ln_x + np.log1p(-saturation) - np.log(saturation)
    ln_km[:, index] = np.clip(drawn, low, high)
    return ln_km


def oracle_parameter_sets(
    model: KineticModel,
    sample_indices: Sequence[int],
    seed: int,
    batch_size: int,
    n_total: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Regenerate ORACLE draws by sample index: (steady-state positions, ln Km [n, P])."""
    sample_indices = np.asarray(sample_indices, dtype=int)
    positions = np.empty(len(sample_indices), dtype=int)
    ln_km = np.empty((len(sample_indices), len(model.parameters)))
    for batch in np.unique(sample_indices // batch_size):
        indices, batch_positions, batch_ln_km = oracle_batch(
            model, batch, batch_size, n_total, seed
        )
        chosen = np.flatnonzero(sample_indices // batch_size == batch)
        offset = sample_indices[chosen] - indices[0]
        positions[chosen] = batch_positions[offset]
        ln_km[chosen] = batch_ln_km[offset]
    return positions, ln_km


def oracle_sampling(
    model: KineticModel,
    n_parameter_sets: int,
    batch_size: int,
    seed: int,
    device: str | torch.device = "cpu",
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """ORACLE baseline: uniform saturations -> Km -> lambda_max, kept when valid.

    Returns one row per parameter set (sample, steady_state, lambda_max, valid) and a
    summary (n, n_valid, incidence, wall seconds, seconds per valid model, ...).
    With ``bounds`` it also reports the fraction of draws with some Km outside them.
    """
    evaluator = BatchedJacobian(model, device=device)
    n_batches = math.ceil(n_parameter_sets / batch_size)
    frames = []
    outside = 0
    start = time.perf_counter()
    for batch in range(n_batches):
        indices, positions, ln_km = oracle_batch(model, batch, batch_size, n_parameter_sets, seed)
        lambda_max = evaluator.lambda_max(ln_km, positions).cpu().numpy()
        threshold = model.threshold[positions]
        if bounds is not None:
            outside += int(np.sum(np.any((ln_km < bounds[0]) | (ln_km > bounds[1]), axis=1)))
        frames.append(
            pd.DataFrame(
                {
                    "sample": indices,
                    "steady_state": [model.sample_ids[p] for p in positions],
                    "lambda_max": lambda_max,
                    "valid": lambda_max < threshold,
                }
            )
        )
        logger.info(
            "%s: ORACLE batch %d/%d, %d valid so far",
            model.environment,
            batch + 1,
            n_batches,
            sum(int(f["valid"].sum()) for f in frames),
        )
    wall = time.perf_counter() - start
    frame = pd.concat(frames, ignore_index=True)
    n_valid = int(frame["valid"].sum())
    settings = model.settings
    summary: dict[str, Any] = {
        "environment": model.environment,
        "n": int(len(frame)),
        "n_valid": n_valid,
        "incidence": n_valid / len(frame),
        "wall_seconds": wall,
        "seconds_per_valid_model": wall / n_valid if n_valid else None,
        "models_per_second": len(frame) / wall,
        "n_steady_states": len(model.split.evaluation),
        "threshold": (
            {"fixed_per_h": settings.threshold_fixed_per_h}
            if settings.threshold_fixed_per_h is not None
            else {"factor": settings.threshold_factor}
        ),
        "threshold_median_per_h": float(np.median(model.threshold)),
        "finite_fraction": float(np.isfinite(frame["lambda_max"]).mean()),
        "device": str(evaluator.device),
        "sizes": model.sizes(),
        "seed": seed,
        "batch_size": batch_size,
    }
    if bounds is not None:
        summary["fraction_outside_km_bounds"] = outside / len(frame)
    logger.info(
        "%s: ORACLE incidence %.4f (%d/%d), %.1f s",
        model.environment,
        summary["incidence"],
        n_valid,
        len(frame),
        wall,
    )
    return frame, summary


def oracle_baseline(
    model: KineticModel, seed: int, parameters: ParameterSpace | pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """ORACLE baseline of one environment (``oracle.csv`` rows and the summary json), with the
    settings its kinetic ``model`` was built with (:func:`build_kinetic_model`).

    ``kinetics.oracle.n_parameter_sets`` draws (default 10,000) in batches of
    ``kinetics.oracle.batch_size``, on the evaluation steady states (:func:`oracle_batch`);
    with the shared ``parameters`` table the summary reports the draws outside its bounds.
    """
    settings = model.settings
    return oracle_sampling(
        model,
        settings.oracle_parameter_sets,
        settings.oracle_batch_size,
        seed=seed,
        device=resolve_device(settings.device),
        bounds=_bounds_in_model(model, parameters),
    )
