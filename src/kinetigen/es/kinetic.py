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
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cobra
import pandas as pd
import torch

from kinetigen.es.checkpoint import config_hash
from kinetigen.es.generations import EnvironmentSubsets
from kinetigen.es.problem import Environment, GeneratorProblem
from kinetigen.es.regulariser import KmRegulariser, km_regulariser
from kinetigen.es.training import TrainingResult, build_optimizer, evaluate_generator, train
from kinetigen.generator import (
    ConditionEncoder,
    Generator,
    flatten_parameters,
    load_generator,
    save_generator,
)
from kinetigen.io import read_csv, read_parquet
from kinetigen.kinetics import (
    BatchedJacobian,
    KineticModel,
    ParameterSpace,
    attainable_positions,
    build_kinetic_model,
)
from kinetigen.kinetics.parameters import measured_columns
from kinetigen.kinetics.prior import generator_bounds
from kinetigen.kinetics.settings import KineticsSettings, as_settings
from kinetigen.network import Networks, load_networks, network_of
from kinetigen.seeds import derive_seed
from kinetigen.settings import CoreSettings, TrainingSettings, WorkflowSettings

log = logging.getLogger(__name__)


UNLIMITED_GENERATIONS = 10**9


class NoAttainableSteadyStates(ValueError):
    """No training environment has a steady state where validity can be reached."""


@dataclass(frozen=True)
class TrainingInputs:
    """What training and evaluation read: the network (or each environment's, with a kinetic
    core: :func:`kinetigen.network.load_networks`), every environment's steady states and
    attainability table (by environment name), and the shared Km parameter space."""

    cobra_model: cobra.Model | Networks
    samples: Mapping[str, pd.DataFrame]
    parameters: pd.DataFrame
    attainability: Mapping[str, pd.DataFrame]

    @classmethod
    def read(
        cls,
        cobra_model: cobra.Model | Networks,
        environments: Sequence[str],
        samples: Sequence[str | os.PathLike],
        parameters: str | os.PathLike,
        attainability: Sequence[str | os.PathLike],
    ) -> TrainingInputs:
        """From a rule's input paths: one steady-state table (parquet) and one attainability
        table (CSV) per environment, in ``environments``' order, and the parameter table."""
        return cls(
            cobra_model,
            {env: read_parquet(path) for env, path in zip(environments, samples, strict=True)},
            read_csv(parameters),
            {env: read_csv(path) for env, path in zip(environments, attainability, strict=True)},
        )

    @classmethod
    def from_results(
        cls, results: str | os.PathLike, config: Mapping[str, Any], environments: Sequence[str]
    ) -> TrainingInputs:
        """From a finished run's ``results`` folder, as the workflow's training rules read
        it: with a kinetic core (config ``core``), each environment's reduced model
        ``results/core/<env>/model.json``, else config ``model``; every environment's
        steady states and attainability table, and the Km space. For benchmarks."""
        results = Path(results)
        core = CoreSettings.from_section(config.get("core", {}))
        model = (
            config["model"]
            if core.whole_model
            else {env: str(results / "core" / env / "model.json") for env in environments}
        )
        return cls.read(
            load_networks(model, solver=config.get("solver", "hybrid")),
            environments,
            [results / "envs" / env / "kinetic_steady_states.parquet" for env in environments],
            results / "kinetic" / "parameters.csv",
            [results / "envs" / env / "attainability.csv" for env in environments],
        )

    @classmethod
    def from_rule(cls, job: Any) -> TrainingInputs:
        """From a Snakemake job (a script's ``snakemake`` object): the network(s) of params
        ``model`` and ``solver`` (:func:`kinetigen.network.load_networks`), params
        ``environments`` and the inputs ``samples``, ``parameters`` and ``attainability``
        (the workflow's ``TRAINING_INPUT``)."""
        params, paths = job.params, job.input
        return cls.read(
            load_networks(params.model, solver=params.solver),
            params.environments,
            paths.samples,
            paths.parameters,
            paths.attainability,
        )


def evaluation_positions(
    settings: KineticsSettings, samples: Mapping[str, pd.DataFrame], name: str
) -> list[int]:
    """The unseen evaluation steady states of environment ``name`` (``kinetics.split``)."""
    return settings.split(len(samples[name]), name, samples[name].index).evaluation.tolist()


def kinetic_environments(
    inputs: TrainingInputs,
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
    samples = inputs.samples
    space = ParameterSpace(inputs.parameters)
    settings = as_settings(config)
    built: dict[str, tuple[KineticModel, BatchedJacobian]] = {}
    environments = []
    for name, kept in pairs:
        if name not in built:
            model = build_kinetic_model(
                network_of(inputs.cobra_model, name), samples[name], settings, name
            )
            jacobian = BatchedJacobian(
                model,
                device=settings.device,
                shared_index=space.index_of(model),
                cpu_threads=threads,
            )
            built[name] = (model, jacobian)
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
                ln_concentration=torch.as_tensor(space.ln_concentration(model, kept)),
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

    def save(self, path: str | os.PathLike) -> None:
        """Write the trained generator (final weights, encoder, metadata) as generator.pt."""
        save_generator(path, self.generator, self.result.weights, self.encoder, self.metadata)


def training_positions(
    attainability: Mapping[str, pd.DataFrame],
    samples: Mapping[str, pd.DataFrame],
    train_names: Sequence[str],
) -> dict[str, list[int]]:
    """Attainable training steady states (positions in ``samples``) per training environment;
    environments whose screen kept none are left out with a warning
    (:class:`NoAttainableSteadyStates` if none is left)."""
    positions = {
        name: attainable_positions(attainability[name], samples[name].index)
        for name in train_names
    }
    for name, kept in positions.items():
        if not kept:
            log.warning("%s: no attainable steady state; left out of training", name)
    positions = {name: kept for name, kept in positions.items() if kept}
    if not positions:
        raise NoAttainableSteadyStates(
            f"no attainable steady state in any training environment {list(train_names)}"
        )
    return positions


def fitted_encoder(
    config: WorkflowSettings,
    conditional: bool,
    samples: Mapping[str, pd.DataFrame],
    positions: Mapping[str, Sequence[int]],
) -> ConditionEncoder | None:
    """The condition encoder, fitted on the training steady states (None: unconditional)."""
    if not conditional:
        return None
    gen_config = config.generator
    encoder = ConditionEncoder(gen_config.condition_dim, gen_config.condition_features)
    encoder.fit(pd.concat([samples[name].iloc[kept] for name, kept in positions.items()]))
    return encoder


def new_generator(
    config: WorkflowSettings, parameters: pd.DataFrame, conditional: bool, seed: int
) -> Generator:
    """A freshly initialised generator over the shared Km space (``generator`` section);
    measured Km (``kinetics.measured_km``) bound it exactly as configured,
    ``generator.output_range: prior`` maps the others into the Km prior's central interval and
    ``generator.output_space: saturation`` generates saturations at the model's steady state."""
    gen_config = config.generator
    space = ParameterSpace(parameters).with_measured(config)
    lower, upper = space.lower, space.upper
    if gen_config.output_range == "prior":
        settings = as_settings(config)
        lower, upper = generator_bounds(
            lower,
            upper,
            settings.km_prior,
            gen_config.output_range_sd,
            measured_columns(space.names, settings),
        )
    return Generator(
        torch.as_tensor(lower),
        torch.as_tensor(upper),
        latent_dim=gen_config.latent_dim,
        condition_dim=gen_config.condition_dim if conditional else 0,
        hidden=gen_config.hidden,
        conditioning=gen_config.conditioning,
        activation=gen_config.activation,
        seed=derive_seed(seed, "generator-init"),
        output_init_scale=gen_config.output_init_scale,
        output_space=gen_config.output_space,
        saturation_range=tuple(gen_config.saturation_range),
    )


def generator_problem(
    generator: Generator,
    environments: list[Environment],
    training: TrainingSettings,
    method: str,
    mode: str,
    regulariser: KmRegulariser | None = None,
    models_per_member: int | None = None,
    spread_floor: float | None = None,
) -> GeneratorProblem:
    """The training problem on ``environments`` with the config's reward options,
    ``models_per_member`` (None: ``method``'s), the Km ``regulariser`` and the
    ``spread_floor`` (None: none; :class:`GeneratorProblem`)."""
    if models_per_member is None:
        models_per_member = training.method(method).models_per_member
    return GeneratorProblem(
        generator,
        environments,
        mode=mode,
        models_per_member=models_per_member,
        tie_weight=training.tie_weight,
        tie_breaker=training.tie_breaker,
        tie_scale=training.tie_scale,
        regulariser=regulariser,
        spread_floor=spread_floor,
    )


TIE_BREAKER_KEYS = ("tie_weight", "tie_breaker", "tie_scale")
DEFAULT_TRAINING = TrainingSettings()


def run_key(
    config: WorkflowSettings,
    method: str,
    seed: int,
    mode: str,
    positions: Mapping[str, Sequence[int]],
    monitor_models: int | None = None,
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed (hashed by :func:`config_hash`).
    ``monitor_models``: a training run's monitor (the from-scratch run of an adapted
    environment), so that a finished run without one is not resumed as if it had it."""
    method_settings = config.training.method(method)
    options = {k: v for k, v in method_settings.as_dict().items() if k != "models_per_member"}
    generator = config.generator.as_dict()
    if generator["output_range"] == "km_bounds":  # the default: the key as before
        del generator["output_range"], generator["output_range_sd"]
    if generator["output_space"] == "ln_km":  # the default before issue 13: the key as then
        del generator["output_space"], generator["saturation_range"]
    key = {
        "method": method,
        "seed": seed,
        "mode": mode,
        "train": positions,
        "generator": generator,
        "options": options,
        "models_per_member": method_settings.models_per_member,
    }
    if config.training.environments_per_generation is not None:  # default: the key as before
        key["environments_per_generation"] = config.training.environments_per_generation
    if monitor_models is not None:  # default: the key as before
        key["monitor_models"] = monitor_models
    # The reward: a run with another tie-breaker optimises another fitness (default: as before).
    reward = {name: getattr(config.training, name) for name in TIE_BREAKER_KEYS}
    if reward != {name: getattr(DEFAULT_TRAINING, name) for name in TIE_BREAKER_KEYS}:
        key["reward"] = reward
    if config.training.km_regulariser.weight > 0:
        key["km_regulariser"] = config.training.km_regulariser.as_dict()
    if config.kinetics.km_prior.enabled:
        key["km_prior"] = config.kinetics.km_prior.as_dict()
    return key


def environment_subsets(training: TrainingSettings, seed: int) -> EnvironmentSubsets | None:
    """The per-generation subsets of ``training.environments_per_generation`` (None: all
    environments every generation), seeded from the run's seed."""
    size = training.environments_per_generation
    return None if size is None else EnvironmentSubsets(size, derive_seed(seed, "subsets"))


def _training_problems(
    generator: Generator,
    environments: list[Environment],
    n_training: int,
    config: WorkflowSettings,
    method: str,
    mode: str,
) -> tuple[GeneratorProblem, GeneratorProblem | None]:
    """The training problem on the first ``n_training`` environments and, when more follow,
    the monitor's problem on the rest (the unseen steady states), with the same reward."""
    regulariser = km_regulariser(config)
    training_part, monitor_part = environments[:n_training], environments[n_training:]
    problem = generator_problem(
        generator, training_part, config.training, method, mode, regulariser
    )
    if not monitor_part:
        return problem, None
    monitor = generator_problem(generator, monitor_part, config.training, method, mode, regulariser)
    return problem, monitor


def train_generator(
    inputs: TrainingInputs,
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
    """Train one generator with ``method`` (one of :data:`kinetigen.methods.METHODS`).

    ``inputs``: the network, steady states, attainability tables and Km space.
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
    samples = inputs.samples
    positions = training_positions(inputs.attainability, inputs.samples, train_names)
    conditional = mode == "conditional" and config.generator.condition_dim > 0
    encoder = fitted_encoder(config, conditional, samples, positions)
    # A benchmark's monitor scores the unseen evaluation steady states (out of sample).
    pairs = list(positions.items())
    if monitor_models is not None:
        settings = as_settings(config)
        pairs += [(name, evaluation_positions(settings, samples, name)) for name in positions]
    environments = kinetic_environments(inputs, pairs, config, encoder, threads)
    generator = new_generator(config, inputs.parameters, conditional, seed)
    problem, monitor_problem = _training_problems(
        generator, environments, len(positions), config, method, mode
    )
    method_settings = training.method(method)
    optimizer = build_optimizer(
        method, flatten_parameters(generator), derive_seed(seed, method), method_settings
    )
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
        # Benchmark runs always have a monitor: their key stays as it was.
        config_hash_value=config_hash(
            run_key(config, method, seed, mode, positions, None if benchmark else monitor_models)
        ),
        monitor_models=monitor_models,
        monitor_seed=derive_seed(seed, "monitor"),
        monitor_problem=monitor_problem,
        subsets=environment_subsets(training, seed),
    )
    return TrainedGenerator(
        generator,
        encoder,
        result,
        list(positions),
        problem.environments,
        run_metadata(result, method, seed, mode, list(positions)),
    )


def run_metadata(
    result: TrainingResult, method: str, seed: int, mode: str, train_environments: list[str]
) -> dict[str, Any]:
    """What a saved generator records about its training run."""
    return {
        "method": method,
        "seed": seed,
        "mode": mode,
        "train_environments": train_environments,
        "generations": result.generations,
        "model_evaluations": result.model_evaluations,
        "wall_seconds": result.wall_seconds,
    }


def evaluate_saved(
    inputs: TrainingInputs,
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
            (name, evaluation_positions(settings, inputs.samples, name))
            for name in trained + heldout
        ],
        "training": [
            (name, attainable_positions(inputs.attainability[name], inputs.samples[name].index))
            for name in trained
        ],
    }
    environments = kinetic_environments(
        inputs, sets["unseen"] + sets["training"], config, encoder, threads
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
