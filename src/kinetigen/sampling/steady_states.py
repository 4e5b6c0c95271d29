"""Steady-state sampling: many thermodynamically feasible physiologies per environment.

:func:`sample_steady_states` samples the polytope of the reference directionality profile
(:mod:`kinetigen.sampling.polytope`) with cobra's OptGP or ACHR sampler, reads every sample
back in physical units and screens it with :func:`~kinetigen.sampling.checks.
steady_state_violations` (the dG'0 bands included); any sample that still fails is dropped
(and logged) and replaced by further sampling.

Output columns (one row per sample, :mod:`kinetigen.columns`): ``flux:<reaction>``
(mmol/gDW/h, net, every reaction), ``lnc:<metabolite>`` (ln mol/L, every metabolite but H+
and H2O), ``dg0:<reaction>`` and ``dg:<reaction>`` (kJ/mol, every constrained reaction), and
``m:<k>`` (dimensionless coordinates along the principal axes of the dG'0 uncertainty,
:func:`kinetigen.sampling.environment.uncertainty_basis`: dg0 = mean + Q_r m, |m| <= z and
|dg0 - mean| <= z sigma; kept so that the uncertainty region can be checked).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import cobra
import numpy as np
import pandas as pd
from cobra.sampling import ACHRSampler, OptGPSampler

from kinetigen.sampling.checks import steady_state_violations
from kinetigen.sampling.environment import ThermoEnvironment
from kinetigen.sampling.errors import InfeasibleTFA
from kinetigen.sampling.polytope import (
    SamplingPolytope,
    build_sampling_polytope,
    physical_samples,
)
from kinetigen.sampling.problem import build_tfa_problem, maximize_growth
from kinetigen.settings import SamplingSettings, TFASettings

logger = logging.getLogger(__name__)

# Extra sampling rounds when screening drops samples.
MAX_TOP_UP_ROUNDS = 5


def sample_steady_states(
    env: ThermoEnvironment,
    tfa: TFASettings | Mapping[str, Any],
    sampling: SamplingSettings | Mapping[str, Any],
    directionality: Mapping[str, int],
    seed: int,
    *,
    min_growth: float | None = None,
) -> pd.DataFrame:
    """Sample ``sampling.n_samples`` steady states of one environment.

    Parameters
    ----------
    env
        The environment; its bounds are applied to a copy of the network.
    tfa, sampling
        The settings (or config sections) of those names.
    directionality
        {reaction: +1 | -1 | 0}, the ``directionality`` of :func:`run_tfa`'s summary.
    seed
        Seeds the sampler (numpy's global generator, which cobra's samplers use).
    min_growth
        Growth floor in 1/h (``min_growth`` of the TFA summary); by default recomputed as
        ``tfa.min_growth_fraction`` x the TFA optimum.

    Returns
    -------
    DataFrame, one row per sample, columns as in the module docstring; every row passes
    :func:`~kinetigen.sampling.checks.check_steady_states`.
    """
    sampling = SamplingSettings.coerce(sampling)
    if sampling.margin_reactions is not None:
        # The polytope binds the margins on every active reaction; a reference that honours
        # them on a list only may leave it empty. Say so instead of an infeasible polytope.
        raise sampling.error(
            "margin_reactions",
            "only the TFA reference honours this list so far; steady-state sampling applies "
            "the margins to every active reaction (set it to null to sample)",
        )
    start = time.perf_counter()
    problem = build_tfa_problem(env, tfa)
    if min_growth is None:
        status, growth = maximize_growth(problem)
        if not growth > 0:
            raise InfeasibleTFA(env.name, f"TFA growth optimum is {status}")
        min_growth = problem.settings.min_growth_fraction * growth
    polytope = build_sampling_polytope(
        problem, directionality, min_growth, sampling.min_abs_dg_kJ, sampling.min_abs_flux
    )
    if not math.isfinite(polytope.model.slim_optimize()):
        raise ValueError(
            f"environment {env.name!r}: no steady state has the reference directionality with "
            f"|dG| >= {sampling.min_abs_dg_kJ} kJ/mol and |v| >= {sampling.min_abs_flux}; "
            "pass the sampling section to run_tfa so the reference honours these margins"
        )
    logger.info(
        "environment %s: sampling %d steady states with %s (thinning %d) in %d dimensions",
        env.name, sampling.n_samples, sampling.sampler, sampling.thinning,
        len(polytope.model.variables),
    )
    sampler = _make_sampler(polytope.model, sampling, seed)
    logger.info(
        "environment %s: %d warm-up points in %.1f s",
        env.name, sampler.n_warmup, time.perf_counter() - start,
    )
    samples = _screened_samples(polytope, sampler, sampling, seed, min_growth, directionality)
    logger.info("environment %s: total %.1f s", env.name, time.perf_counter() - start)
    autocorrelation = lag_one_autocorrelation(samples)
    logger.info(
        "environment %s: median lag-1 autocorrelation %.2f, effective sample size about %.0f "
        "(raise sampling.thinning for more)",
        env.name, autocorrelation,
        sampling.n_samples * (1 - autocorrelation) / (1 + autocorrelation),
    )
    return samples


def _screened_samples(
    polytope: SamplingPolytope,
    sampler: OptGPSampler | ACHRSampler,
    sampling: SamplingSettings,
    seed: int,
    min_growth: float,
    directionality: Mapping[str, int],
) -> pd.DataFrame:
    """``sampling.n_samples`` samples that pass every check, topped up in further rounds
    when the checks drop some."""
    env, n_samples = polytope.env, sampling.n_samples
    kept: list[pd.DataFrame] = []
    n_kept = dropped = 0
    sampling_start = time.perf_counter()
    for round_index in range(MAX_TOP_UP_ROUNDS + 1):
        wanted = n_samples - n_kept
        if wanted <= 0:
            break
        if round_index and sampling.sampler == "optgp":
            # OptGP reseeds numpy from its seed on every call; a new one avoids a replay.
            sampler._seed = (seed + 7919 * round_index) % np.iinfo(np.int32).max
        raw = sampler.sample(wanted, fluxes=False).iloc[:wanted]
        batch = physical_samples(polytope, raw)
        violations = steady_state_violations(
            batch, env, sampling, min_growth=min_growth, directionality=directionality
        )
        bad = violations["sample"].unique()
        if len(bad):
            first = violations.iloc[0]
            logger.warning(
                "environment %s: dropped %d of %d samples (e.g. %s of %s: %.3g vs %.3g)",
                env.name, len(bad), len(batch), first["check"], first["id"], first["value"],
                first["limit"],
            )
        batch = batch.drop(index=bad)
        dropped += len(bad)
        kept.append(batch)
        n_kept += len(batch)
        logger.info(
            "environment %s: %d of %d samples after %.1f s",
            env.name, n_kept, n_samples, time.perf_counter() - sampling_start,
        )
    if n_kept < n_samples:
        raise RuntimeError(
            f"environment {env.name!r}: only {n_kept} of {n_samples} samples passed the "
            f"steady-state checks ({dropped} dropped); the polytope may be numerically thin"
        )
    samples = pd.concat(kept, ignore_index=True).iloc[:n_samples]
    samples.index.name = "sample"
    elapsed = time.perf_counter() - sampling_start
    logger.info(
        "environment %s: %d samples in %.1f s (%.1f samples/s), %d dropped",
        env.name, n_samples, elapsed, n_samples / elapsed, dropped,
    )
    return samples


def lag_one_autocorrelation(samples: pd.DataFrame) -> float:
    """Median lag-1 autocorrelation over the columns that vary (0 for fewer than 3 rows).

    Hit-and-run chains are correlated; n (1 - r) / (1 + r) estimates the effective number of
    independent samples.
    """
    values = samples.to_numpy(float)
    if len(values) < 3:
        return 0.0
    centred = values - values.mean(axis=0)
    variance = (centred**2).sum(axis=0)
    varying = variance > 1e-12 * np.maximum(1.0, np.abs(values).max(axis=0)) ** 2
    if not varying.any():
        return 0.0
    lagged = (centred[1:, varying] * centred[:-1, varying]).sum(axis=0) / variance[varying]
    return float(np.median(lagged))


def _make_sampler(
    model: cobra.Model, sampling: SamplingSettings, seed: int
) -> OptGPSampler | ACHRSampler:
    if sampling.sampler == "optgp":
        return OptGPSampler(
            model, thinning=sampling.thinning, processes=sampling.processes, seed=int(seed)
        )
    return ACHRSampler(model, thinning=sampling.thinning, seed=int(seed))
