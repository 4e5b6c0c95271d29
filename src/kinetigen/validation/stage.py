"""The validation stage as the workflow runs it: pick the models, test them, simulate them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import cobra
import numpy as np
import pandas as pd

from kinetigen.generator import load_generator
from kinetigen.kinetics import KineticModel, ParameterSpace, build_kinetic_model
from kinetigen.kinetics.settings import KineticsSettings, as_settings
from kinetigen.settings import BioreactorSettings, ValidationSettings, WorkflowSettings
from kinetigen.validation.bioreactor import simulate_ensemble
from kinetigen.validation.ensembles import (
    ORACLE_GROUPS,
    ModelSet,
    generated_models,
    oracle_models,
)
from kinetigen.validation.perturbation import perturbation_tests, return_summary

log = logging.getLogger(__name__)


def validation_models(
    cobra_model: cobra.Model,
    samples: pd.DataFrame,
    parameters: pd.DataFrame,
    oracle: pd.DataFrame | None,
    config: KineticsSettings | WorkflowSettings | Mapping[str, Any],
    generator_path: str,
    env: str,
    n_generated: int,
    n_control: int,
    seed: int,
    oracle_seed: int,
):
    """The kinetic model of ``env`` and its model groups, all on the evaluation steady states
    of ``kinetics.split`` (never trained on; ORACLE draws on the same ones): generated valid
    models, ORACLE-valid models, the stable-but-slow and the unstable ORACLE controls
    (:data:`ORACLE_GROUPS`), and last an unfiltered batch of 1000 generated models (group
    "sampled", for the lambda_max distribution)."""
    settings = as_settings(config)
    model = build_kinetic_model(cobra_model, samples, settings, env)
    generator, encoder, _ = load_generator(generator_path)
    space = ParameterSpace(parameters)
    positions = model.split.evaluation.tolist()
    generated = generated_models(
        generator, encoder, model, samples, space, positions, n_generated, seed
    )
    sampled = generated_models(
        generator,
        encoder,
        model,
        samples,
        space,
        positions,
        1000,
        seed + 1,
        only_valid=False,
        max_draws=1000,
    )
    sampled.group = "sampled"
    controls = [
        oracle_models(
            model,
            oracle,
            group,
            n_control,
            oracle_seed,
            settings.oracle_batch_size,
            settings.oracle_parameter_sets,
        )
        for group in ORACLE_GROUPS
        if n_control > 0
    ]
    return model, [generated, *controls, sampled]


def tested_sets(model_sets: list[ModelSet]) -> list[ModelSet]:
    """The groups that the perturbation tests integrate (not the unfiltered "sampled" batch,
    which only feeds the lambda_max distribution)."""
    return [s for s in model_sets if len(s) and s.group != "sampled"]


def tested_parameters(model: KineticModel, model_sets: list[ModelSet]) -> pd.DataFrame:
    """ln Km and saturations of every tested model (``results/validation/{env}/
    parameters.parquet``; see :meth:`ModelSet.parameter_table`)."""
    return pd.concat([s.parameter_table(model) for s in tested_sets(model_sets)], ignore_index=True)


def perturbation_validation(
    model,
    model_sets: list[ModelSet],
    settings: ValidationSettings | Mapping[str, Any],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Perturbation table, trajectories of a few models per group, and a JSON summary
    (fraction returned per group and magnitude, and per group, magnitude and margin bin);
    ``settings``: the ``validation`` settings (or config section)."""
    settings = ValidationSettings.coerce(settings)
    table, trajectories = perturbation_tests(
        model,
        tested_sets(model_sets),
        magnitudes=list(settings.magnitudes),
        n_perturbations=settings.n_perturbations,
        tolerance=settings.tolerance,
        return_time_factor=settings.return_time_factor,
        seed=seed,
        processes=settings.processes,
        trajectory_models=settings.trajectory_models,
    )
    summary = {
        "environment": model.environment,
        "threshold_factor": model.settings.threshold_factor,
        "models": {s.group: len(s) for s in model_sets},
        "return": return_summary(table).to_dict(orient="records"),
        "return_by_margin": return_summary(table, by_margin=True).to_dict(orient="records"),
    }
    return table, trajectories, summary


def bioreactor_validation(
    model, generated: ModelSet, settings: BioreactorSettings | Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Batch-culture time courses and per-model summary for the generated models
    (``settings``: the ``validation.bioreactor`` settings or section)."""
    bioreactor = BioreactorSettings.coerce(settings)
    pairs = list(zip(generated.positions.tolist(), list(generated.ln_km), strict=True))
    courses, summary = simulate_ensemble(model, pairs, bioreactor)
    summary["lambda_max"] = np.asarray(generated.lambda_max)[: len(summary)]
    return courses, summary
