"""Adaptation: a trained generator fine-tuned to a new environment with the optimiser it was
trained with (config ``training.adaptation``, rule adapt).

:func:`adapt_generator` loads a saved generator (weights and condition encoder as trained),
builds the new environment's training steady states (the attainable ones of
``kinetics.split``) as the problem and its unseen evaluation steady states as the monitor, and
runs the training loop of :func:`kinetigen.es.training.train` on them: same hooks, checkpoints
and resume. The history's generation 0 is the monitor's score of the starting generator (its
zero-shot incidence, at 0 model evaluations). :func:`adaptation_summary` reads the evaluations
to the target incidence from it and, beside it, from the history of the per-environment
generator trained on that environment from scratch.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from kinetigen.es.checkpoint import config_hash
from kinetigen.es.kinetic import (
    TrainedGenerator,
    TrainingInputs,
    evaluation_positions,
    generator_problem,
    kinetic_environments,
    run_metadata,
    training_positions,
)
from kinetigen.es.problem import Environment, GeneratorProblem
from kinetigen.es.stability import steps_to_target
from kinetigen.es.subspace import SubspaceProblem, WeightSubspace, weight_subspace
from kinetigen.es.training import build_optimizer, train
from kinetigen.generator import flatten_parameters, load_generator
from kinetigen.generator.model import Generator
from kinetigen.kinetics.settings import as_settings
from kinetigen.seeds import derive_seed
from kinetigen.settings import MethodSettings, TrainingSettings, WorkflowSettings

log = logging.getLogger(__name__)


def adapted_options(
    options: MethodSettings, sigma0: float, models_per_member: int | None = None
) -> MethodSettings:
    """``options`` (a method's settings) with its initial search width set to ``sigma0``
    (``sigma0`` of trnes and sep-cma, ``sigma`` of the RENAISSANCE methods) and, unless
    None, its ``models_per_member``."""
    key = "sigma0" if hasattr(options, "sigma0") else "sigma"
    changes: dict[str, Any] = {key: sigma0}
    if models_per_member is not None:
        changes["models_per_member"] = models_per_member
    return options.replace(**changes)


def weights_digest(generator_path: str | os.PathLike) -> str:
    """Short hash of a saved generator's flat weights (a retrained start voids a checkpoint)."""
    generator = load_generator(generator_path)[0]
    return hashlib.sha256(flatten_parameters(generator).numpy().tobytes()).hexdigest()[:16]


@dataclass
class _AdaptationSearch:
    """What one adaptation run searches: the problem and the monitor (in the subspace, if
    any), the optimiser's settings and its starting centre."""

    problem: GeneratorProblem | SubspaceProblem
    monitor: GeneratorProblem | SubspaceProblem
    options: MethodSettings
    start: Tensor
    subspace: WeightSubspace | None


def _adaptation_search(
    generator: Generator,
    parts: tuple[Environment, Environment],
    training: TrainingSettings,
    method: str,
    mode: str,
) -> _AdaptationSearch:
    """The training problem on ``parts[0]`` (with the spread floor) and the monitor on
    ``parts[1]``, searched over the weights or the subspace ``training.adaptation.weights``
    (centre 0 there: weights = start + theta @ basis)."""
    adaptation = training.adaptation
    models, floor = adaptation.models_per_member, adaptation.spread_floor
    train_part, monitor_part = parts
    problem = generator_problem(
        generator, [train_part], training, method, mode, None, models, floor
    )
    monitor = generator_problem(generator, [monitor_part], training, method, mode, None, models)
    options = adapted_options(training.method(method), adaptation.sigma0, models)
    weights = flatten_parameters(generator)
    subspace = weight_subspace(generator, weights, adaptation.weights)
    if subspace is None:
        return _AdaptationSearch(problem, monitor, options, weights, None)
    return _AdaptationSearch(
        SubspaceProblem(problem, subspace),
        SubspaceProblem(monitor, subspace),
        options,
        torch.zeros(subspace.n_directions, dtype=torch.float64),
        subspace,
    )


def adapt_generator(
    inputs: TrainingInputs,
    config: WorkflowSettings | Mapping[str, Any],
    generator_path: str | os.PathLike,
    environment: str,
    seed: int,
    checkpoint_path: str | os.PathLike | None = None,
    threads: int = 1,
) -> TrainedGenerator:
    """Fine-tune the generator saved at ``generator_path`` on ``environment``.

    The optimiser is the one the generator was trained with (its metadata's method), with the
    settings of ``training.<method>``, the search width ``training.adaptation.sigma0`` and,
    where set, ``training.adaptation.models_per_member``, seeded from ``seed``; it searches
    the weights or the subspace of them that ``training.adaptation.weights`` names
    (:mod:`kinetigen.es.subspace`), with the reward's ``spread_floor``, and runs
    ``training.adaptation.max_generations`` generations (or to ``max_model_evaluations``),
    checkpointing every ``training.checkpoint_every`` into ``checkpoint_path`` and resuming
    from it like training. The monitor scores ``training.adaptation.monitor_models`` fixed
    models on the environment's unseen evaluation steady states every generation, and at
    generation 0 (the zero-shot start). The condition encoder stays the one the generator
    was trained with."""
    config = WorkflowSettings.coerce(config)
    training, adaptation = config.training, config.training.adaptation
    generator, encoder, start = load_generator(generator_path)
    method, mode = str(start["method"]), str(start["mode"])
    positions = training_positions(inputs.attainability, inputs.samples, [environment])
    unseen = evaluation_positions(as_settings(config), inputs.samples, environment)
    pairs = [*positions.items(), (environment, unseen)]
    train_part, monitor_part = kinetic_environments(inputs, pairs, config, encoder, threads)
    search = _adaptation_search(generator, (train_part, monitor_part), training, method, mode)
    optimizer = build_optimizer(
        method, search.start, derive_seed(seed, "adapt", method), search.options
    )
    key = {
        "adapt": environment,
        "seed": seed,
        "train": positions,
        "start": weights_digest(generator_path),
        "options": search.options.as_dict(),
        "monitor_models": adaptation.monitor_models,
        "weights": adaptation.weights,
        "models_per_member": search.problem.models_per_member,
        "spread_floor": adaptation.spread_floor,
    }  # not the stop criteria: a longer run resumes a shorter one, as training does
    log.info(
        "adapting %s (%s mode, trained on %s, seed %s) to %s, seed %d: %d directions (%s)",
        method,
        mode,
        start.get("train_environments"),
        start.get("seed"),
        environment,
        seed,
        int(search.start.numel()),
        adaptation.weights,
    )
    result = train(
        search.problem,
        optimizer,
        max_generations=adaptation.max_generations,
        max_model_evaluations=adaptation.max_model_evaluations,
        checkpoint_path=checkpoint_path,
        checkpoint_every=training.checkpoint_every,
        config_hash_value=config_hash(key),
        monitor_models=adaptation.monitor_models,
        monitor_seed=derive_seed(seed, "monitor"),
        monitor_problem=search.monitor,
        monitor_start=True,
    )
    if search.subspace is not None:
        result.weights = search.subspace.embed(result.weights)
    metadata = run_metadata(result, method, seed, mode, [environment])
    metadata["adapted_from"] = {
        key: start[key] for key in ("method", "seed", "mode", "train_environments") if key in start
    }
    metadata["adaptation"] = {name: value for name, value in key.items() if name != "train"}
    return TrainedGenerator(generator, encoder, result, [environment], [train_part], metadata)


def _reading(history: pd.DataFrame, environment: str, target: float) -> dict[str, Any]:
    """Evaluations to ``target`` and the last incidence of one run's history, read from its
    monitor column (unseen steady states) or, without one, its centre column (the training
    steady states of each generation's batch: in-sample, said in ``measure``)."""
    for measure in ("monitor", "centre"):
        column = f"{measure}_incidence:{environment}"
        if column in history.columns:
            reached = steps_to_target(history, [column], target)
            spread = f"monitor_spread:{environment}"
            return {
                "evaluations_to_target": None if math.isnan(reached) else int(reached),
                "final_incidence": float(history[column].iloc[-1]),
                "final_spread": (
                    float(history[spread].iloc[-1]) if spread in history.columns else None
                ),
                "model_evaluations": int(history["model_evaluations"].iloc[-1]),
                "generations": int(history["generation"].iloc[-1]),
                "measure": "unseen steady states" if measure == "monitor" else "training batch",
            }
    raise ValueError(f"history has no incidence column of environment {environment!r}")


def _ratio(adapted: int | None, scratch: int | None) -> float | None:
    """Adapted / from-scratch evaluations, when both runs reached the target (and the
    from-scratch run not at its start)."""
    return adapted / scratch if adapted is not None and scratch else None


def evaluations_to_targets(
    history: pd.DataFrame,
    scratch_history: pd.DataFrame,
    environment: str,
    targets: Sequence[float],
) -> list[dict[str, Any]]:
    """Per target incidence: the evaluations the adapted and the from-scratch run needed to
    reach it (None: not within the run) and their ratio. A lower target than the one the
    issue asks for makes the ratio measurable where the from-scratch run never reaches it."""
    readings = []
    for target in targets:
        adapted = _reading(history, environment, target)["evaluations_to_target"]
        scratch = _reading(scratch_history, environment, target)["evaluations_to_target"]
        readings.append(
            {
                "target_incidence": float(target),
                "adapted_evaluations": adapted,
                "from_scratch_evaluations": scratch,
                "evaluations_ratio": _ratio(adapted, scratch),
            }
        )
    return readings


def adaptation_summary(
    history: pd.DataFrame,
    scratch_history: pd.DataFrame,
    environment: str,
    target: float,
    run: Mapping[str, Any] | None = None,
    also_at: Sequence[float] = (),
) -> dict[str, Any]:
    """An adaptation run beside the from-scratch per-environment run, side by side.

    ``evaluations_to_target``: model evaluations at the first generation whose monitor
    incidence on the unseen steady states is >= ``target`` (0: the starting generator already
    was; None: never reached within the run); ``zero_shot_incidence``: generation 0, the
    starting generator; ``final_spread``: the last generation's monitor spread of ln Km at a
    steady state (None in a history without it), which tells a generator that reached the
    target by narrowing its Km to a point. ``from_scratch`` holds the same numbers read from
    ``scratch_history``; ``evaluations_ratio`` is adapted / from scratch when both reached it
    (the issue's test: at most 0.2). ``run``: extra fields to record (seed, method, ...).
    ``also_at``: further target incidences, read into ``at_targets`` (one entry per target,
    ``target`` first; see :func:`evaluations_to_targets`)."""
    adapted = _reading(history, environment, target)
    scratch = _reading(scratch_history, environment, target)
    first = history[history["generation"] == 0]
    zero_shot = f"monitor_incidence:{environment}"
    ratio = _ratio(adapted["evaluations_to_target"], scratch["evaluations_to_target"])
    return {
        "environment": environment,
        **dict(run or {}),
        "target_incidence": target,
        "zero_shot_incidence": float(first[zero_shot].iloc[0]) if len(first) else None,
        **adapted,
        "from_scratch": scratch,
        "evaluations_ratio": ratio,
        "at_targets": evaluations_to_targets(
            history, scratch_history, environment, [target, *also_at]
        ),
    }


def _seed_row(summary: Mapping[str, Any], reading: Mapping[str, Any]) -> dict[str, Any]:
    """One seed's row at one target of :func:`adaptation_seed_table`."""
    budget = summary["from_scratch"]["model_evaluations"]
    adapted, ratio = reading["adapted_evaluations"], reading["evaluations_ratio"]
    bound = ratio
    if reading["from_scratch_evaluations"] is None and adapted is not None:
        bound = adapted / budget  # from scratch would have needed more than its budget
    return {
        "environment": summary["environment"],
        "seed": str(summary["seed"]),
        **reading,
        "ratio_bound": bound,
        "zero_shot_incidence": summary["zero_shot_incidence"],
        "adapted_final_incidence": summary["final_incidence"],
        "from_scratch_final_incidence": summary["from_scratch"]["final_incidence"],
        "adapted_final_spread": summary.get("final_spread"),
        "from_scratch_final_spread": summary["from_scratch"].get("final_spread"),
        "adapted_budget": summary["model_evaluations"],
        "from_scratch_budget": budget,
    }


# Columns where a run that never reached the target counts as needing infinitely many.
UNREACHED_IS_INFINITE = ("adapted_evaluations", "from_scratch_evaluations", "ratio_bound")


def adaptation_seed_table(summaries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One environment's adaptation summaries (one per seed) as a table: one row per seed and
    target incidence, then per target a row ``seed = "median"`` (the issue's measure).

    ``ratio_bound`` is the ratio where both runs reached the target and, where only the
    adapted run did, adapted evaluations / the from-scratch run's whole budget: an upper
    bound of the ratio. In the median row a run that never reached the target counts as
    needing infinitely many evaluations (empty when that is the median), ``evaluations_ratio``
    is left empty (``ratio_bound`` is the median to read), and ``adapted_reached`` and
    ``from_scratch_reached`` count the seeds that reached it."""
    table = pd.DataFrame(
        [_seed_row(summary, reading) for summary in summaries for reading in summary["at_targets"]]
    )
    numbers = [c for c in table.columns if c not in ("environment", "seed", "target_incidence")]
    table[numbers] = table[numbers].astype(float)
    infinite = table.fillna(dict.fromkeys(UNREACHED_IS_INFINITE, math.inf))
    groups = infinite.groupby(["environment", "target_incidence"], as_index=False, sort=False)
    medians = groups[numbers].median().replace(math.inf, math.nan)
    medians["evaluations_ratio"] = math.nan
    counts = table.groupby(["environment", "target_incidence"], sort=False).count()
    medians["adapted_reached"] = counts["adapted_evaluations"].to_numpy()
    medians["from_scratch_reached"] = counts["from_scratch_evaluations"].to_numpy()
    return pd.concat([table, medians.assign(seed="median")], ignore_index=True)
