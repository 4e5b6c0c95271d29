"""The real problem: generator weights -> valid kinetic models of the sampled steady states.

This module joins the stages: it turns the steady states, the shared Km parameter space and
the attainability screen into :class:`~kinetigen.es.problem.Environment` objects (batched
lambda_max evaluators from kinetigen.kinetics), builds the generator and the optimiser from the
config, trains, and evaluates. Training uses the training steady states of ``kinetics.split``
that the attainability screen found attainable; evaluation reports the unseen evaluation
steady states (and, labelled, the training ones).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cobra
import pandas as pd
import torch

from kinetigen.es.problem import Environment, GeneratorProblem
from kinetigen.es.training import (
    TrainingResult,
    build_optimizer,
    config_hash,
    evaluate_generator,
    train,
)
from kinetigen.generator import (
    ConditionEncoder,
    Generator,
    flatten_parameters,
    load_generator,
)
from kinetigen.io import read_csv, read_parquet
from kinetigen.kinetics import (
    BatchedJacobian,
    KineticModel,
    ParameterSpace,
    build_kinetic_model,
)
from kinetigen.kinetics.settings import KineticsSettings, as_settings
from kinetigen.seeds import derive_seed
from kinetigen.settings import WorkflowSettings

log = logging.getLogger(__name__)


UNLIMITED_GENERATIONS = 10**9


class NoAttainableSteadyStates(ValueError):
    """No training environment has a steady state where validity can be reached."""


def read_environment_tables(
    environments: Sequence[str], samples: Sequence[str], attainability: Sequence[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Steady states and attainability tables per environment, from the rule's input paths."""
    return (
        {env: read_parquet(path) for env, path in zip(environments, samples, strict=True)},
        {env: read_csv(path) for env, path in zip(environments, attainability, strict=True)},
    )


def attainable_positions(attainability: pd.DataFrame) -> list[int]:
    """Positions of the steady states the attainability screen kept."""
    return sorted(int(p) for p in attainability.loc[attainability["attainable"], "steady_state"])


def _environment(
    name: str,
    model: KineticModel,
    jacobian: BatchedJacobian,
    kept: Sequence[int],
    samples: pd.DataFrame,
    encoder: ConditionEncoder | None,
) -> Environment:
    kept = list(kept)
    return Environment(
        name=name,
        lambda_max=jacobian.lambda_max,
        thresholds=torch.as_tensor(model.threshold[kept], dtype=torch.float64),
        conditions=None if encoder is None else encoder.transform_tensor(samples.iloc[kept]),
        positions=torch.as_tensor(kept, dtype=torch.long),
    )


def kinetic_environments(
    cobra_model: cobra.Model,
    samples: Mapping[str, pd.DataFrame],
    parameters: pd.DataFrame,
    positions: Mapping[str, Sequence[int]] | Sequence[tuple[str, Sequence[int]]],
    config: KineticsSettings | WorkflowSettings | Mapping[str, Any],
    encoder: ConditionEncoder | None,
    threads: int = 1,
) -> list[Environment]:
    """One :class:`Environment` per (name, steady-state positions) pair of ``positions`` (a
    mapping or a sequence of pairs, in that order; a name may come twice, e.g. with its
    training and its evaluation steady states, and its kinetic model is built once).
    ``threads`` CPU threads solve each batch's eigenvalues (:class:`BatchedJacobian`)."""
    pairs = list(positions.items()) if isinstance(positions, Mapping) else list(positions)
    space = ParameterSpace(parameters)
    settings = as_settings(config)
    built: dict[str, tuple[KineticModel, BatchedJacobian]] = {}
    environments = []
    for name, kept in pairs:
        if name not in built:
            model = build_kinetic_model(cobra_model, samples[name], settings, name)
            built[name] = (
                model,
                BatchedJacobian(
                    model,
                    device=settings.device,
                    shared_index=space.index_of(model),
                    cpu_threads=threads,
                ),
            )
        model, jacobian = built[name]
        kept = list(kept)
        environments.append(
            Environment(
                name=name,
                lambda_max=jacobian.lambda_max,
                thresholds=torch.as_tensor(model.threshold[kept], dtype=torch.float64),
                conditions=(
                    None if encoder is None else encoder.transform_tensor(samples[name].iloc[kept])
                ),
                positions=torch.as_tensor(kept, dtype=torch.long),
            )
        )
        log.info(
            "%s: %s, %d steady states used, threshold median %.2f 1/h",
            name,
            model.sizes(),
            len(kept),
            float(pd.Series(model.threshold[kept]).median()),
        )
    return environments


@dataclass
class TrainedGenerator:
    generator: Generator
    encoder: ConditionEncoder | None
    result: TrainingResult
    train_environments: list[str]
    environments: list[Environment]
    metadata: dict[str, Any]


def train_generator(
    cobra_model: cobra.Model,
    samples: Mapping[str, pd.DataFrame],
    parameters: pd.DataFrame,
    attainability: Mapping[str, pd.DataFrame],
    config: WorkflowSettings | Mapping[str, Any],
    method: str,
    seed: int,
    mode: str,
    train_names: Sequence[str],
    checkpoint_path: str | None = None,
    max_model_evaluations: int | None = None,
    monitor_models: int | None = None,
    threads: int = 1,
) -> TrainedGenerator:
    """Train one generator with ``method`` ("trnes", "renaissance", "renaissance-ours",
    "sep-cma").

    ``config``: the workflow settings (or a config mapping) with the sections physiology,
    biomass_reaction, kinetics, generator and training. ``max_model_evaluations`` (the
    stability benchmark's equal budget) replaces both stop criteria of the config. ``mode``:
    "conditional", "shared" or "per-environment" (then ``train_names`` is one environment).
    ``monitor_models`` (benchmarks) scores the centre every generation on a fixed batch over
    the unseen evaluation steady states (``kinetics.split``). Environments whose screen kept
    no steady state are left out of training with a warning; if none is left,
    :class:`NoAttainableSteadyStates` is raised.
    """
    config = WorkflowSettings.coerce(config)
    training = config.training
    positions = {name: attainable_positions(attainability[name]) for name in train_names}
    for name, kept in positions.items():
        if not kept:
            log.warning("%s: no attainable steady state; left out of training", name)
    positions = {name: kept for name, kept in positions.items() if kept}
    if not positions:
        raise NoAttainableSteadyStates(
            f"no attainable steady state in any training environment {list(train_names)}"
        )

    gen_config = config.generator
    conditional = mode == "conditional" and gen_config.condition_dim > 0
    encoder = None
    if conditional:
        encoder = ConditionEncoder(gen_config.condition_dim, gen_config.condition_features)
        encoder.fit(pd.concat([samples[name].iloc[kept] for name, kept in positions.items()]))
    # A benchmark's monitor scores the unseen evaluation steady states (out of sample).
    pairs = list(positions.items())
    if monitor_models is not None:
        settings = as_settings(config)
        pairs += [(name, settings.split(len(samples[name]), name).evaluation) for name in positions]
    environments = kinetic_environments(
        cobra_model, samples, parameters, pairs, config, encoder, threads
    )
    environments, monitor_environments = (
        environments[: len(positions)],
        environments[len(positions) :],
    )
    space = ParameterSpace(parameters)
    generator = Generator(
        torch.as_tensor(space.lower),
        torch.as_tensor(space.upper),
        latent_dim=gen_config.latent_dim,
        condition_dim=gen_config.condition_dim if conditional else 0,
        hidden=gen_config.hidden,
        conditioning=gen_config.conditioning,
        activation=gen_config.activation,
        seed=derive_seed(seed, "generator-init"),
        output_init_scale=gen_config.output_init_scale,
    )
    method_settings = training.method(method)
    models_per_member = method_settings.models_per_member

    def make_problem(envs: list[Environment]) -> GeneratorProblem:
        return GeneratorProblem(
            generator,
            envs,
            mode=mode,
            models_per_member=models_per_member,
            tie_weight=training.tie_weight,
            tie_breaker=training.tie_breaker,
            tie_scale=training.tie_scale,
        )

    problem = make_problem(environments)
    monitor_problem = make_problem(monitor_environments) if monitor_environments else None
    optimizer = build_optimizer(
        method, flatten_parameters(generator), derive_seed(seed, method), method_settings
    )
    options = {k: v for k, v in method_settings.as_dict().items() if k != "models_per_member"}
    run_key = {
        "method": method,
        "seed": seed,
        "mode": mode,
        "train": positions,
        "generator": gen_config.as_dict(),
        "options": options,
        "models_per_member": models_per_member,
    }
    log.info(
        "training %s (%s mode, seed %d): %d weights, environments %s",
        method,
        mode,
        seed,
        int(flatten_parameters(generator).numel()),
        list(positions),
    )
    # A benchmark's budget is its only stop, so every method gets the same evaluations.
    benchmark = max_model_evaluations is not None
    result = train(
        problem,
        optimizer,
        max_generations=UNLIMITED_GENERATIONS if benchmark else training.max_generations,
        max_model_evaluations=max_model_evaluations or training.max_model_evaluations,
        checkpoint_path=checkpoint_path,
        checkpoint_every=training.checkpoint_every,
        config_hash_value=config_hash(run_key),
        monitor_models=monitor_models,
        monitor_seed=derive_seed(seed, "monitor"),
        monitor_problem=monitor_problem,
    )
    metadata = {
        "method": method,
        "seed": seed,
        "mode": mode,
        "train_environments": list(positions),
        "generations": result.generations,
        "model_evaluations": result.model_evaluations,
        "wall_seconds": result.wall_seconds,
    }
    return TrainedGenerator(generator, encoder, result, list(positions), environments, metadata)


def evaluate_saved(
    cobra_model: cobra.Model,
    samples: Mapping[str, pd.DataFrame],
    parameters: pd.DataFrame,
    attainability: Mapping[str, pd.DataFrame],
    config: KineticsSettings | WorkflowSettings | Mapping[str, Any],
    generator_path: str,
    heldout_names: Sequence[str],
    n_models: int,
    seed: int,
    threads: int = 1,
) -> pd.DataFrame:
    """Incidence of a saved generator on a fresh latent batch of ``n_models`` per environment
    and steady-state set: column ``steady_states`` is ``"unseen"`` for the evaluation steady
    states of ``kinetics.split`` (never trained on; the numbers to quote) and ``"training"``
    for the attainable training steady states the generator was trained on (in-sample, for
    comparison). Held-out environments (``heldout_names``, zero-shot) get unseen rows only."""
    generator, encoder, metadata = load_generator(generator_path)
    trained = list(metadata["train_environments"])
    heldout = [name for name in heldout_names if name not in trained]
    settings = as_settings(config)
    sets = {
        "unseen": [
            (name, settings.split(len(samples[name]), name).evaluation)
            for name in trained + heldout
        ],
        "training": [(name, attainable_positions(attainability[name])) for name in trained],
    }
    environments = kinetic_environments(
        cobra_model,
        samples,
        parameters,
        sets["unseen"] + sets["training"],
        config,
        encoder,
        threads,
    )
    tables = []
    for label, first in (("unseen", 0), ("training", len(sets["unseen"]))):
        table = evaluate_generator(
            generator,
            flatten_parameters(generator),
            environments[first : first + len(sets[label])],
            heldout=heldout if label == "unseen" else (),
            n_models=n_models,
            seed=derive_seed(seed, "evaluation", label),
        )
        table.insert(2, "steady_states", label)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
