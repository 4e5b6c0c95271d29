"""One generation loop with hooks: history, monitor, log line and checkpoints plug into it.

:func:`run_generations` steps an :class:`~kinetigen.es.base.EvolutionStrategy` on a
:class:`~kinetigen.es.problem.GeneratorProblem` until a stop criterion holds; everything else a
training run does per generation is a :class:`GenerationHook` (as evotorch's searchers expose
``log_hook``). Each generation builds one history row (:func:`history_row`) and hands it to
every hook in order, so a hook may add columns that the hooks after it see: the
:class:`Monitor` comes before the :class:`HistoryRecorder`, and the :class:`Checkpointer` last,
so that a checkpoint holds the row of the generation it follows.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinetigen.es.base import EvolutionStrategy
from kinetigen.es.checkpoint import load_checkpoint, restore_global_rng, save_checkpoint
from kinetigen.es.problem import Batch, GeneratorProblem
from kinetigen.seeds import derive_seed

logger = logging.getLogger(__name__)


@dataclass
class GenerationState:
    """What the loop and its hooks share: the run so far."""

    problem: GeneratorProblem
    optimizer: EvolutionStrategy
    history: list[dict[str, Any]] = field(default_factory=list)
    model_evaluations: int = 0
    wall_seconds: float = 0.0
    resumed_from: int | None = None  # generation the run resumed at, None if it started fresh


class GenerationHook:
    """Called by :func:`run_generations`: once before the first generation, after every
    generation with its step's ``info`` and history ``row``, and once at the end."""

    def on_start(self, state: GenerationState) -> None:
        """Before the first generation (a resume sets the state here)."""

    def on_generation(
        self, state: GenerationState, info: dict[str, Any], row: dict[str, Any]
    ) -> None:
        """After each generation; ``row`` may be extended for the hooks that follow."""

    def on_end(self, state: GenerationState) -> None:
        """After the last generation."""


@dataclass(frozen=True)
class EnvironmentSubsets:
    """Each generation scores ``size`` of the problem's environments, drawn without
    replacement by a generator seeded with (``seed``, generation number) alone: the same
    seed gives the same subsets, and a run resumed from a checkpoint draws what the
    uninterrupted run drew. The optimiser's common random numbers (one latent batch, one
    steady-state choice per environment) then cover that subset only, so a generation costs
    ``size`` environments whatever their number."""

    size: int
    seed: int

    def indices(self, n_environments: int, generation: int) -> list[int]:
        """Sorted indices of the environments generation ``generation`` (0-based) scores
        (all of them when ``size`` covers them)."""
        if self.size >= n_environments:
            return list(range(n_environments))
        rng = np.random.default_rng(derive_seed(self.seed, "environment-subset", generation))
        return sorted(int(i) for i in rng.choice(n_environments, self.size, replace=False))

    def problem(self, problem: GeneratorProblem, generation: int) -> GeneratorProblem:
        """``problem`` on generation ``generation``'s subset (``problem`` itself if all)."""
        indices = self.indices(len(problem.environments), generation)
        return problem if len(indices) == len(problem.environments) else problem.subset(indices)


def _by_name(names: Sequence[str], scored: Sequence[str], values: Sequence[Any]) -> list:
    """(name, value) for every one of ``names``; NaN for those a subset did not score."""
    found = dict(zip(scored, values, strict=True))
    return [(name, found.get(name, math.nan)) for name in names]


def history_row(
    problem: GeneratorProblem,
    generation: int,
    model_evaluations: int,
    wall_seconds: float,
    info: dict[str, Any],
    scored: GeneratorProblem | None = None,
) -> dict[str, Any]:
    """Flatten a step's info into one history row (per-environment columns by name).
    ``scored``: the problem the step scored, if only some of ``problem``'s environments
    (:class:`EnvironmentSubsets`); their columns are NaN for the others."""
    scored = problem if scored is None else scored
    row: dict[str, Any] = {
        "generation": generation,
        "model_evaluations": model_evaluations,
        "wall_seconds": wall_seconds,
    }
    names, scored_names = problem.environment_names, scored.environment_names
    for name, value in _by_name(names, scored_names, info["centre_incidence"]):
        row[f"centre_incidence:{name}"] = value
    if problem.mode == "shared":
        row["centre_incidence:all"] = info["centre_objective"][0]
    objectives = _by_name(problem.objective_names, scored.objective_names, info["centre_fitness"])
    for name, value in objectives:
        row[f"centre_fitness:{name}"] = value
    for name, value in _by_name(names, scored_names, info["population_incidence_mean"]):
        row[f"population_incidence:{name}"] = value
    for key in ("kl_mean", "kl_sigma", "sigma_min", "sigma_median", "sigma_max", "radius"):
        row[key] = float(info[key])
    row["accepted"] = bool(info["accepted"])
    optional = ("kl_mean_proposed", "paired_difference", "paired_stderr", "learning_rate")
    for key in (*optional, "centre_reward"):
        if key in info:
            row[key] = float(info[key])
    return row


def budget_left(state: GenerationState, max_model_evaluations: int | None) -> bool:
    """Whether the run may spend more model evaluations."""
    return max_model_evaluations is None or state.model_evaluations < max_model_evaluations


def run_generations(
    problem: GeneratorProblem,
    optimizer: EvolutionStrategy,
    hooks: Sequence[GenerationHook],
    max_generations: int,
    max_model_evaluations: int | None = None,
    subsets: EnvironmentSubsets | None = None,
) -> GenerationState:
    """Step ``optimizer`` on ``problem`` until it has run ``max_generations`` generations
    (resumed ones included) or spent ``max_model_evaluations``, calling ``hooks`` in order.
    ``subsets``: each generation steps on a drawn subset of the environments (column
    ``environments`` of the row names it); the hooks see the whole ``problem``."""
    state = GenerationState(problem, optimizer)
    for hook in hooks:
        hook.on_start(state)
    while optimizer.generation < max_generations and budget_left(state, max_model_evaluations):
        scored = problem if subsets is None else subsets.problem(problem, optimizer.generation)
        started = time.perf_counter()
        info = optimizer.step(scored)
        state.model_evaluations += int(info["model_evaluations"])
        state.wall_seconds += time.perf_counter() - started
        row = history_row(
            problem, optimizer.generation, state.model_evaluations, state.wall_seconds, info, scored
        )
        if subsets is not None:
            row["environments"] = " ".join(scored.environment_names)
        for hook in hooks:
            hook.on_generation(state, info, row)
    for hook in hooks:
        hook.on_end(state)
    return state


class HistoryRecorder(GenerationHook):
    """Appends each generation's row to the run's history."""

    def on_generation(
        self, state: GenerationState, info: dict[str, Any], row: dict[str, Any]
    ) -> None:
        state.history.append(row)


class GenerationLogger(GenerationHook):
    """One log line per generation: centre incidence, budget, KL, sigma, radius, acceptance."""

    def on_generation(
        self, state: GenerationState, info: dict[str, Any], row: dict[str, Any]
    ) -> None:
        logger.info(
            "%s gen %d: centre incidence %s | evals %d | KL %.3g/%.3g | sigma %.3g..%.3g | "
            "radius %.3g | accepted %s | %.1f s",
            state.optimizer.name,
            state.optimizer.generation,
            " ".join(f"{value:.3f}" for value in info["centre_incidence"]),
            state.model_evaluations,
            row["kl_mean"],
            row["kl_sigma"],
            row["sigma_min"],
            row["sigma_max"],
            row["radius"],
            row["accepted"],
            state.wall_seconds,
        )


class RowCallback(GenerationHook):
    """Hands each recorded row to a plain function (progress bars, tests)."""

    def __init__(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.callback = callback

    def on_generation(
        self, state: GenerationState, info: dict[str, Any], row: dict[str, Any]
    ) -> None:
        self.callback(row)


class Monitor(GenerationHook):
    """Scores the centre every generation on one *fixed* batch of ``n_models`` models per
    environment (columns ``monitor_incidence:<env>``, and ``:all`` in shared mode), and how
    widely it spreads the Km of one steady state (``monitor_spread:<env>``, the median
    standard deviation of ln Km over latent draws: :meth:`GeneratorProblem.ln_km_spread`).

    A fixed batch makes generation-to-generation changes real changes, not resampling noise.
    Measurement only: not counted in the model evaluations and invisible to the optimiser.
    ``scorer`` is the problem whose steady states it scores: the training problem, or the same
    environments (names and order) on other steady states, e.g. the unseen evaluation ones.
    """

    def __init__(
        self, scorer: GeneratorProblem, n_models: int, seed: int, score_start: bool = False
    ) -> None:
        self.scorer = scorer
        self.n_models = n_models
        self.seed = int(seed)
        self.score_start = score_start
        self.batch: Batch | None = None

    def on_start(self, state: GenerationState) -> None:
        """Draws the fixed batch; with ``score_start`` a fresh run's history begins with a
        generation-0 row: the starting centre's monitor incidence at 0 model evaluations (a
        resumed run takes the row from its checkpoint's history)."""
        check_same_environments(self.scorer, state.problem)
        self.batch = self.scorer.sample_batch(
            torch.Generator().manual_seed(self.seed), self.n_models
        )
        if self.score_start and state.optimizer.generation == 0 and not state.history:
            row: dict[str, Any] = {"generation": 0, "model_evaluations": 0, "wall_seconds": 0.0}
            self.on_generation(state, {}, row)
            state.history.append(row)
            logger.info(
                "%s gen 0: monitor incidence %s (the starting centre)",
                state.optimizer.name,
                " ".join(
                    f"{row[f'monitor_incidence:{name}']:.3f}"
                    for name in state.problem.environment_names
                ),
            )

    def on_generation(
        self, state: GenerationState, info: dict[str, Any], row: dict[str, Any]
    ) -> None:
        centre = state.optimizer.centre()
        monitor = self.scorer.evaluate(centre, self.batch)
        names = state.problem.environment_names
        for name, value in zip(names, monitor.incidence[0].tolist(), strict=True):
            row[f"monitor_incidence:{name}"] = value
        for name, value in zip(names, self.scorer.ln_km_spread(centre, self.batch), strict=True):
            row[f"monitor_spread:{name}"] = value
        if state.problem.mode == "shared":
            row["monitor_incidence:all"] = float(monitor.objective_incidence[0, 0])


def check_same_environments(scorer: GeneratorProblem, problem: GeneratorProblem) -> None:
    """A monitor scores the training environments, by name and in order."""
    if scorer.environment_names != problem.environment_names:
        raise ValueError(
            f"monitor environments {scorer.environment_names} differ from the training "
            f"environments {problem.environment_names}"
        )


class Checkpointer(GenerationHook):
    """Resumes from ``path`` at the start when the checkpoint is this run's (same method and
    ``config_hash_value``; otherwise it is ignored, with a warning, and overwritten), writes
    one every ``every`` generations and one at the end."""

    def __init__(self, path: str | os.PathLike, every: int, config_hash_value: str) -> None:
        self.path = path
        self.every = every
        self.config_hash_value = config_hash_value
        self.last_saved = 0

    def on_start(self, state: GenerationState) -> None:
        if Path(self.path).exists():
            self._resume(state)
        self.last_saved = state.optimizer.generation

    def _resume(self, state: GenerationState) -> None:
        payload = load_checkpoint(self.path)
        optimizer = state.optimizer
        if payload["config_hash"] != self.config_hash_value or payload["method"] != optimizer.name:
            logger.warning(
                "checkpoint %s is for method %s / config %s, not %s / %s: starting afresh",
                self.path,
                payload["method"],
                payload["config_hash"],
                optimizer.name,
                self.config_hash_value,
            )
            return
        optimizer.load_state_dict(payload["optimizer"])
        state.history = list(payload["history"])
        state.model_evaluations = int(payload["model_evaluations"])
        state.wall_seconds = float(payload["wall_seconds"])
        restore_global_rng(payload)
        state.resumed_from = optimizer.generation
        logger.info(
            "resumed %s from %s at generation %d (%d model evaluations)",
            optimizer.name,
            self.path,
            state.resumed_from,
            state.model_evaluations,
        )

    def on_generation(
        self, state: GenerationState, info: dict[str, Any], row: dict[str, Any]
    ) -> None:
        if state.optimizer.generation % self.every == 0:
            self._save(state)

    def on_end(self, state: GenerationState) -> None:
        if self.last_saved != state.optimizer.generation:
            self._save(state)

    def _save(self, state: GenerationState) -> None:
        save_checkpoint(
            self.path,
            state.optimizer,
            state.history,
            state.model_evaluations,
            state.wall_seconds,
            self.config_hash_value,
        )
        self.last_saved = state.optimizer.generation
