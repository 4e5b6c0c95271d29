"""Training loop, checkpoint/resume, final evaluation and the stability summary.

``train`` runs generations of any :class:`~kinetigen.es.base.EvolutionStrategy` on a
:class:`~kinetigen.es.problem.GeneratorProblem`, logs one line per generation, records a history
row per generation and writes an atomic checkpoint every ``checkpoint_every`` generations and at
the end. Rerun with the same checkpoint path and configuration hash, it resumes from the
checkpoint and ends bit-for-bit where an uninterrupted run would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kinetigen.es.base import EvolutionStrategy
from kinetigen.es.problem import Environment, GeneratorProblem, balanced_indices
from kinetigen.es.renaissance import RenaissanceES, RenaissanceOursES
from kinetigen.es.sepcma import SepCMA
from kinetigen.es.trnes import TrustRegionNES
from kinetigen.generator.model import Generator, forward_population
from kinetigen.io import atomic_path
from kinetigen.schema import check_value
from kinetigen.settings import MethodSettings

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
METHODS = {
    "trnes": TrustRegionNES,
    "renaissance": RenaissanceES,
    "renaissance-ours": RenaissanceOursES,
    "sep-cma": SepCMA,
}
DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def build_optimizer(
    method: str,
    initial_weights: Tensor,
    seed: int,
    options: MethodSettings | Mapping[str, Any] | None = None,
) -> EvolutionStrategy:
    """Optimiser ``method`` (a key of :data:`METHODS`) with its settings: the method's settings
    object (:class:`kinetigen.settings.TrainingSettings.method`), its config section as a
    mapping, or None (the schema's defaults)."""
    if method not in METHODS:
        raise ValueError(f"unknown training method {method!r}; choose one of {sorted(METHODS)}")
    return METHODS[method](initial_weights, seed=seed, settings=options)


def config_hash(config: Any) -> str:
    """Short stable hash of a JSON-serialisable configuration (to match checkpoints)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def history_row(
    problem: GeneratorProblem,
    generation: int,
    model_evaluations: int,
    wall_seconds: float,
    info: dict[str, Any],
) -> dict[str, Any]:
    """Flatten a step's info into one history row (per-environment columns by name)."""
    row: dict[str, Any] = {
        "generation": generation,
        "model_evaluations": model_evaluations,
        "wall_seconds": wall_seconds,
    }
    for name, value in zip(problem.environment_names, info["centre_incidence"], strict=True):
        row[f"centre_incidence:{name}"] = value
    if problem.mode == "shared":
        row["centre_incidence:all"] = info["centre_objective"][0]
    for name, value in zip(problem.objective_names, info["centre_fitness"], strict=True):
        row[f"centre_fitness:{name}"] = value
    for name, value in zip(
        problem.environment_names, info["population_incidence_mean"], strict=True
    ):
        row[f"population_incidence:{name}"] = value
    for key in ("kl_mean", "kl_sigma", "sigma_min", "sigma_median", "sigma_max", "radius"):
        row[key] = float(info[key])
    row["accepted"] = bool(info["accepted"])
    optional = ("kl_mean_proposed", "paired_difference", "paired_stderr", "learning_rate")
    for key in (*optional, "centre_reward"):
        if key in info:
            row[key] = float(info[key])
    return row


def _numpy_state_to_tensors(state: tuple) -> dict[str, Any]:
    kind, keys, position, has_gauss, cached = state
    return {
        "kind": kind,
        "keys": torch.as_tensor(np.asarray(keys, dtype=np.int64)),
        "position": int(position),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _numpy_state_from_tensors(state: dict[str, Any]) -> tuple:
    return (
        state["kind"],
        state["keys"].numpy().astype(np.uint32),
        state["position"],
        state["has_gauss"],
        state["cached_gaussian"],
    )


def save_checkpoint(
    path: str | os.PathLike,
    optimizer: EvolutionStrategy,
    history: list[dict[str, Any]],
    model_evaluations: int,
    wall_seconds: float,
    config_hash_value: str,
) -> None:
    """Atomically write the full training state (see :func:`load_checkpoint`)."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config_hash": config_hash_value,
        "method": optimizer.name,
        "generation": optimizer.generation,
        "model_evaluations": int(model_evaluations),
        "wall_seconds": float(wall_seconds),
        "weights": optimizer.centre(),
        "optimizer": optimizer.state_dict(),
        "history": history,
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": _numpy_state_to_tensors(np.random.get_state()),
        },
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (plain tensors and containers)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: unknown checkpoint format {payload.get('format')!r}")
    return payload


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
        models per environment (columns ``monitor_incidence:<env>``). A fixed batch makes
        generation-to-generation changes real changes, not resampling noise, so stability
        benchmarks read drops from it. Measurement only: not counted in the model evaluations
        and invisible to the optimiser.
    monitor_problem
        Scores the monitor batch instead of ``problem``: the same environments (names and
        order) on other steady states, e.g. the unseen evaluation ones, so that the monitor
        measures out-of-sample incidence.
    """
    check_value("training.max_generations", max_generations)
    check_value("training.checkpoint_every", checkpoint_every)
    history: list[dict[str, Any]] = []
    model_evaluations = 0
    wall_seconds = 0.0
    resumed_from = None
    if checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path)
        if state["config_hash"] != config_hash_value or state["method"] != optimizer.name:
            logger.warning(
                "checkpoint %s is for method %s / config %s, not %s / %s: starting afresh",
                checkpoint_path,
                state["method"],
                state["config_hash"],
                optimizer.name,
                config_hash_value,
            )
        else:
            optimizer.load_state_dict(state["optimizer"])
            history = list(state["history"])
            model_evaluations = int(state["model_evaluations"])
            wall_seconds = float(state["wall_seconds"])
            torch.set_rng_state(state["rng"]["torch"])
            np.random.set_state(_numpy_state_from_tensors(state["rng"]["numpy"]))
            resumed_from = optimizer.generation
            logger.info(
                "resumed %s from %s at generation %d (%d model evaluations)",
                optimizer.name,
                checkpoint_path,
                resumed_from,
                model_evaluations,
            )

    def budget_left() -> bool:
        return max_model_evaluations is None or model_evaluations < max_model_evaluations

    monitor_batch = None
    scorer = problem if monitor_problem is None else monitor_problem
    if scorer.environment_names != problem.environment_names:
        raise ValueError(
            f"monitor environments {scorer.environment_names} differ from the training "
            f"environments {problem.environment_names}"
        )
    if monitor_models is not None:
        monitor_batch = scorer.sample_batch(
            torch.Generator().manual_seed(int(monitor_seed)), monitor_models
        )

    last_saved = optimizer.generation
    while optimizer.generation < max_generations and budget_left():
        started = time.perf_counter()
        info = optimizer.step(problem)
        model_evaluations += int(info["model_evaluations"])
        wall_seconds += time.perf_counter() - started
        row = history_row(problem, optimizer.generation, model_evaluations, wall_seconds, info)
        if monitor_batch is not None:
            monitor = scorer.evaluate(optimizer.centre(), monitor_batch)
            for name, value in zip(
                problem.environment_names, monitor.incidence[0].tolist(), strict=True
            ):
                row[f"monitor_incidence:{name}"] = value
            if problem.mode == "shared":
                row["monitor_incidence:all"] = float(monitor.objective_incidence[0, 0])
        history.append(row)
        logger.info(
            "%s gen %d: centre incidence %s | evals %d | KL %.3g/%.3g | sigma %.3g..%.3g | "
            "radius %.3g | accepted %s | %.1f s",
            optimizer.name,
            optimizer.generation,
            " ".join(f"{value:.3f}" for value in info["centre_incidence"]),
            model_evaluations,
            row["kl_mean"],
            row["kl_sigma"],
            row["sigma_min"],
            row["sigma_max"],
            row["radius"],
            row["accepted"],
            wall_seconds,
        )
        if on_generation is not None:
            on_generation(row)
        if checkpoint_path is not None and optimizer.generation % checkpoint_every == 0:
            save_checkpoint(
                checkpoint_path,
                optimizer,
                history,
                model_evaluations,
                wall_seconds,
                config_hash_value,
            )
            last_saved = optimizer.generation
    if checkpoint_path is not None and last_saved != optimizer.generation:
        save_checkpoint(
            checkpoint_path, optimizer, history, model_evaluations, wall_seconds, config_hash_value
        )
    stopped_by = "max_model_evaluations" if not budget_left() else "max_generations"
    return TrainingResult(
        weights=optimizer.centre(),
        history=pd.DataFrame(history),
        generations=optimizer.generation,
        model_evaluations=model_evaluations,
        wall_seconds=wall_seconds,
        resumed_from=resumed_from,
        stopped_by=stopped_by,
    )


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
        lambda_max = torch.empty(n_models, dtype=torch.float64)
        for start in range(0, n_models, max_models_per_call):
            part = slice(start, start + max_models_per_call)
            conditions = (
                None if generator.condition_dim == 0 else env.conditions[idx[part]].to(dtype)
            )
            ln_km = forward_population(generator, members, z[part], conditions)[0]
            lambda_max[part] = env.evaluate_lambda_max(ln_km, idx[part])
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


def steps_to_target(history: pd.DataFrame, columns: Sequence[str], target: float) -> float:
    """Model evaluations at the first generation whose centre incidence is >= target in every
    column (nan if never)."""
    reached = (history[list(columns)] >= target).all(axis=1)
    if not reached.any():
        return float("nan")
    return float(history.loc[reached.idxmax(), "model_evaluations"])


def within_budget(history: pd.DataFrame, budget: int | None) -> pd.DataFrame:
    """The generations of ``history`` that a run with ``budget`` model evaluations would have
    completed (all of them when ``budget`` is None)."""
    if budget is None:
        return history
    return history[history["model_evaluations"] <= budget]


def stability_runs(
    histories: dict[tuple[str, int], pd.DataFrame],
    target: float = 0.9,
    budget: int | None = None,
) -> pd.DataFrame:
    """One row per (method, seed) run: evaluations_to_target (NaN if never reached),
    final_min_incidence, worst_drop, model_evaluations; see :func:`summarise_stability`.
    With ``budget`` each run is read as if it had stopped at that many model evaluations."""
    per_run = []
    for (method, seed), history in sorted(histories.items()):
        history = within_budget(history, budget)
        if history.empty:
            raise ValueError(
                f"run {method} seed {seed}: no generation within {budget} model evaluations"
            )
        prefix = (
            "monitor_incidence:"
            if any(name.startswith("monitor_incidence:") for name in history.columns)
            else "centre_incidence:"
        )
        columns = [name for name in history.columns if name.startswith(prefix)]
        if f"{prefix}all" in columns:
            columns = [f"{prefix}all"]
        incidence = history[columns]
        drops = (incidence.shift(1) - incidence).max(axis=1).fillna(0.0)
        per_run.append(
            {
                "method": method,
                "seed": seed,
                "evaluations_to_target": steps_to_target(history, columns, target),
                "final_min_incidence": float(incidence.iloc[-1].min()),
                "worst_drop": float(max(drops.max(), 0.0)),
                "model_evaluations": int(history["model_evaluations"].iloc[-1]),
            }
        )
    return pd.DataFrame(per_run)


def summarise_stability(
    histories: dict[tuple[str, int], pd.DataFrame],
    target: float = 0.9,
    budget: int | None = None,
) -> pd.DataFrame:
    """Per method over seeds: the stability benchmark summary.

    ``histories`` maps (method, seed) to the history table of that run. Columns: n_seeds,
    fraction_reaching_target (every training environment's centre incidence >= target at some
    generation), evaluations_to_target median / q25 / q75 (over seeds that reached it),
    final_min_incidence median / q25 / q75 (last generation, worst training environment),
    worst_drop_max and worst_drop_median (largest fall of any environment's centre incidence
    between consecutive generations; max over seeds, median of per-seed values).
    Incidence is read from the ``monitor_incidence:`` columns (fixed batch) when the history
    has them, otherwise from ``centre_incidence:``; in shared mode from the ``:all`` column.
    ``budget``: read every run as stopped at that many model evaluations (e.g. RENAISSANCE's
    own 25 generations); final_min_incidence_min / _max give the range over seeds.
    """
    runs = stability_runs(histories, target, budget)
    rows = []
    for method, group in runs.groupby("method", sort=True):
        reached = group["evaluations_to_target"].dropna()
        rows.append(
            {
                "method": method,
                "n_seeds": len(group),
                "fraction_reaching_target": float(group["evaluations_to_target"].notna().mean()),
                "evaluations_to_target_median": float(reached.median()) if len(reached) else np.nan,
                "evaluations_to_target_q25": float(reached.quantile(0.25))
                if len(reached)
                else np.nan,
                "evaluations_to_target_q75": float(reached.quantile(0.75))
                if len(reached)
                else np.nan,
                "final_min_incidence_median": float(group["final_min_incidence"].median()),
                "final_min_incidence_q25": float(group["final_min_incidence"].quantile(0.25)),
                "final_min_incidence_q75": float(group["final_min_incidence"].quantile(0.75)),
                "final_min_incidence_min": float(group["final_min_incidence"].min()),
                "final_min_incidence_max": float(group["final_min_incidence"].max()),
                "worst_drop_max": float(group["worst_drop"].max()),
                "worst_drop_median": float(group["worst_drop"].median()),
                "model_evaluations_median": float(group["model_evaluations"].median()),
            }
        )
    return pd.DataFrame(rows)
