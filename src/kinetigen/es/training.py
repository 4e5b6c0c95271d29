"""Training runs and the final evaluation of a generator.

``train`` runs generations of any :class:`~kinetigen.es.base.EvolutionStrategy` on a
:class:`~kinetigen.es.problem.GeneratorProblem` through the one generation loop of
:mod:`kinetigen.es.generations`, with hooks that record a history row per generation, score a
fixed monitor batch, log one line per generation and write an atomic checkpoint every
``checkpoint_every`` generations and at the end (:mod:`kinetigen.es.checkpoint`). Rerun with the
same checkpoint path and configuration hash, it resumes from the checkpoint and ends
bit-for-bit where an uninterrupted run would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kinetigen.es.base import EvolutionStrategy
from kinetigen.es.generations import (
    Checkpointer,
    EnvironmentSubsets,
    GenerationHook,
    GenerationLogger,
    HistoryRecorder,
    Monitor,
    RowCallback,
    budget_left,
    check_same_environments,
    run_generations,
)
from kinetigen.es.problem import Environment, GeneratorProblem, balanced_indices
from kinetigen.es.renaissance import RenaissanceES, RenaissanceOursES
from kinetigen.es.sepcma import SepCMA
from kinetigen.es.trnes import TrustRegionNES
from kinetigen.generator.model import Generator, forward_population
from kinetigen.methods import METHODS, check_method
from kinetigen.schema import check_value
from kinetigen.settings import MethodSettings

# The optimiser class of every method of kinetigen.methods.METHODS, in that order.
OPTIMIZERS: dict[str, type[EvolutionStrategy]] = dict(
    zip(METHODS, (TrustRegionNES, RenaissanceES, RenaissanceOursES, SepCMA), strict=True)
)
DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def build_optimizer(
    method: str,
    initial_weights: Tensor,
    seed: int,
    options: MethodSettings | Mapping[str, Any] | None = None,
) -> EvolutionStrategy:
    """Optimiser ``method`` (one of :data:`kinetigen.methods.METHODS`) with its settings: the
    method's settings object (:class:`kinetigen.settings.TrainingSettings.method`), its config
    section as a mapping, or None (the schema's defaults)."""
    return OPTIMIZERS[check_method(method)](initial_weights, seed=seed, settings=options)


@dataclass
class TrainingResult:
    """Outcome of :func:`train`."""

    weights: Tensor  # final centre [D]
    history: pd.DataFrame
    generations: int
    model_evaluations: int
    wall_seconds: float
    resumed_from: int | None  # generation the run resumed at, None if it started fresh
    stopped_by: str  # "max_generations" or "max_model_evaluations"


def train(
    problem: GeneratorProblem,
    optimizer: EvolutionStrategy,
    max_generations: int,
    max_model_evaluations: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 10,
    config_hash_value: str = "",
    on_generation: Callable[[dict[str, Any]], None] | None = None,
    monitor_models: int | None = None,
    monitor_seed: int = 0,
    monitor_problem: GeneratorProblem | None = None,
    subsets: EnvironmentSubsets | None = None,
    monitor_start: bool = False,
) -> TrainingResult:
    """Run ``optimizer`` on ``problem`` until a stop criterion holds.

    Parameters
    ----------
    max_generations
        Stop after this many generations in total (resumed generations included).
    max_model_evaluations
        Stop once this many model evaluations (Jacobians) have been spent, if given.
    checkpoint_path
        Checkpoint file; if it exists and its method and ``config_hash_value`` match, the run
        resumes from it (otherwise it is ignored, with a warning, and overwritten).
    checkpoint_every
        Generations between checkpoints; one is also written when the loop ends.
    on_generation
        Called with each history row after it is recorded (progress bars, tests).
    monitor_models
        If given, the centre is also scored every generation on one *fixed* batch of this many
        models per environment (columns ``monitor_incidence:<env>``; see
        :class:`~kinetigen.es.generations.Monitor`). Stability benchmarks read drops from it.
    monitor_problem
        Scores the monitor batch instead of ``problem``: the same environments (names and
        order) on other steady states, e.g. the unseen evaluation ones, so that the monitor
        measures out-of-sample incidence.
    subsets
        Each generation trains on a seeded subset of the environments (config
        ``training.environments_per_generation``); the monitor scores them all.
    monitor_start
        The history begins with a generation-0 row: the monitor's score of the starting
        centre (adaptation: the zero-shot incidence of the generator it fine-tunes).
    """
    check_value("training.max_generations", max_generations)
    check_value("training.checkpoint_every", checkpoint_every)
    scorer = problem if monitor_problem is None else monitor_problem
    check_same_environments(scorer, problem)
    hooks: list[GenerationHook] = []
    if monitor_models is not None:
        hooks.append(Monitor(scorer, monitor_models, monitor_seed, score_start=monitor_start))
    hooks += [HistoryRecorder(), GenerationLogger()]
    if on_generation is not None:
        hooks.append(RowCallback(on_generation))
    if checkpoint_path is not None:
        hooks.append(Checkpointer(checkpoint_path, checkpoint_every, config_hash_value))
    state = run_generations(
        problem, optimizer, hooks, max_generations, max_model_evaluations, subsets
    )
    exhausted = not budget_left(state, max_model_evaluations)
    return TrainingResult(
        weights=optimizer.centre(),
        history=pd.DataFrame(state.history),
        generations=optimizer.generation,
        model_evaluations=state.model_evaluations,
        wall_seconds=state.wall_seconds,
        resumed_from=state.resumed_from,
        stopped_by="max_model_evaluations" if exhausted else "max_generations",
    )


def _lambda_max_in_parts(
    generator: Generator, members: Tensor, env: Environment, z: Tensor, idx: Tensor, size: int
) -> Tensor:
    """lambda_max [n] of one member's models (latent ``z``, local steady states ``idx``) in
    parts of at most ``size`` models."""
    lambda_max = torch.empty(len(idx), dtype=torch.float64)
    for start in range(0, len(idx), size):
        part = slice(start, start + size)
        conditions = None
        if generator.condition_dim > 0:
            conditions = env.conditions[idx[part]].to(generator.lower.dtype)
        ln_x = env.ln_concentration[idx[part]] if generator.needs_concentrations else None
        ln_km = forward_population(generator, members, z[part], conditions, ln_x)[0]
        lambda_max[part] = env.evaluate_lambda_max(ln_km, idx[part])
    return lambda_max


@torch.no_grad()
def evaluate_generator(
    generator: Generator,
    weights: Tensor,
    environments: Sequence[Environment],
    heldout: Sequence[str] = (),
    n_models: int = 1000,
    seed: int = 0,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    max_models_per_call: int = 20_000,
) -> pd.DataFrame:
    """Incidence of ``weights`` on a fresh latent batch of ``n_models`` per environment.

    Steady states are used evenly (balanced draw). Rows: env, split ("train" or "heldout" for
    names in ``heldout``), n_models, n_valid, incidence, lambda_max quantiles (1/h; inf counts
    as the largest value), cpu_seconds (generation + evaluation) and valid_per_cpu_second.
    An unconditional generator uses one latent batch for all environments and gets extra
    rows ``all:train`` / ``all:heldout``: the fraction of Km sets valid in every environment
    of that split at once.
    """
    unknown = set(heldout) - {env.name for env in environments}
    if unknown:
        raise ValueError(f"held-out environment(s) {sorted(unknown)} not among the environments")
    rng = torch.Generator().manual_seed(int(seed))
    dtype = generator.lower.dtype
    shared_z = None
    if generator.condition_dim == 0:
        shared_z = torch.randn(n_models, generator.latent_dim, generator=rng, dtype=dtype)
    members = weights.reshape(1, -1).to(dtype)
    rows = []
    valid_by_env: dict[str, Tensor] = {}
    for env in environments:
        if generator.condition_dim > 0 and env.conditions is None:
            raise ValueError(f"environment {env.name!r}: conditional generator needs conditions")
        started = time.process_time()
        idx = balanced_indices(env.n_steady_states, n_models, rng)
        z = shared_z
        if z is None:
            z = torch.randn(n_models, generator.latent_dim, generator=rng, dtype=dtype)
        lambda_max = _lambda_max_in_parts(generator, members, env, z, idx, max_models_per_call)
        cpu_seconds = time.process_time() - started
        valid = lambda_max < env.thresholds[idx]
        valid_by_env[env.name] = valid
        n_valid = int(valid.sum())
        row: dict[str, Any] = {
            "env": env.name,
            "split": "heldout" if env.name in heldout else "train",
            "n_models": n_models,
            "n_valid": n_valid,
            "incidence": n_valid / n_models,
        }
        sorted_values = torch.sort(lambda_max).values
        for q in quantiles:
            position = min(n_models - 1, max(0, int(np.ceil(q * n_models)) - 1))
            row[f"lambda_max_q{round(100 * q):02d}"] = float(sorted_values[position])
        row["cpu_seconds"] = cpu_seconds
        row["valid_per_cpu_second"] = n_valid / cpu_seconds if cpu_seconds > 0 else float("nan")
        rows.append(row)
    if shared_z is not None:
        for split in ("train", "heldout"):
            names = [row["env"] for row in rows if row["split"] == split]
            if len(names) > 1:
                valid_all = torch.stack([valid_by_env[name] for name in names]).all(dim=0)
                rows.append(
                    {
                        "env": f"all:{split}",
                        "split": split,
                        "n_models": n_models,
                        "n_valid": int(valid_all.sum()),
                        "incidence": float(valid_all.double().mean()),
                    }
                )
    return pd.DataFrame(rows)
