"""Ensembles: every (steady state, ln Km) of one kinetic model in batch culture."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kinetigen.kinetics import KineticModel
from kinetigen.parallel import log_progress, map_tasks
from kinetigen.settings import BioreactorSettings
from kinetigen.validation.bioreactor.batch import BatchResult, simulate_batch
from kinetigen.validation.bioreactor.medium import as_bioreactor_settings, resolve_substrate

logger = logging.getLogger(__name__)


def _simulate_task(
    shared: tuple[KineticModel, BioreactorSettings], task: tuple[Any, int, np.ndarray]
) -> tuple[Any, BatchResult]:
    """One model of the ensemble (a worker task: the kinetic model comes once per worker)."""
    kinetic_model, settings = shared
    label, steady_state, ln_km = task
    return label, simulate_batch(kinetic_model, steady_state, ln_km, settings)


def ensemble_tasks(
    kinetic_model: KineticModel,
    parameter_sets: Sequence[tuple[int, np.ndarray]],
    labels: Sequence[Any] | None,
) -> list[tuple[Any, int, np.ndarray]]:
    """(label, steady-state position, ln Km) per model, with ln Km's shape checked."""
    labels = list(range(len(parameter_sets))) if labels is None else list(labels)
    if len(labels) != len(parameter_sets):
        raise ValueError(
            f"simulate_ensemble: {len(labels)} labels for {len(parameter_sets)} parameter sets"
        )
    n_parameters = len(kinetic_model.parameters)
    tasks = []
    for label, (steady_state, ln_km) in zip(labels, parameter_sets, strict=True):
        ln_km = np.asarray(ln_km, dtype=float)
        if ln_km.shape != (n_parameters,):
            raise ValueError(
                f"environment {kinetic_model.environment!r}, model {label!r}: ln_km needs "
                f"shape ({n_parameters},), got {ln_km.shape}"
            )
        tasks.append((label, int(steady_state), ln_km))
    return tasks


def simulate_ensemble(
    kinetic_model: KineticModel,
    parameter_sets: Sequence[tuple[int, np.ndarray]],
    settings: BioreactorSettings | Mapping[str, Any] | None = None,
    labels: Sequence[Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate every (steady-state position, ln Km) of an ensemble in batch culture.

    Runs ``settings.processes`` worker processes (:func:`kinetigen.parallel.map_tasks`; 1 = in
    this process) and logs progress. Bad parameter sets do not raise: their summary row
    carries the status and the reason.

    Returns
    -------
    time_courses
        Wide form: model, time_h, biomass_gDW_per_L, growth_rate_per_h and one
        ``<id>_mmol_per_L`` column per dynamic extracellular metabolite;
        ``settings.n_time_points`` rows per model, evenly spaced from 0 to the end time.
    summary
        One row per model: model, steady_state, sample_id, substrate, status,
        reached_exhaustion, exhaustion_time_h, final_biomass_gDW_per_L, yield_gDW_per_mmol,
        balance errors, ... (see :func:`~kinetigen.validation.bioreactor.simulate_batch`).
    """
    settings = as_bioreactor_settings(settings)
    tasks = ensemble_tasks(kinetic_model, parameter_sets, labels)
    substrate = resolve_substrate(kinetic_model, settings)  # config errors before any work
    environment = kinetic_model.environment
    logger.info(
        "%s: bioreactor simulation of %d models (substrate %s, %d processes)",
        environment,
        len(tasks),
        substrate,
        settings.processes,
    )

    def progress(done: int, result: tuple[Any, BatchResult]) -> None:
        label, batch = result
        logger.debug("%s: model %r %s", environment, label, batch.summary.get("status"))
        log_progress(logger, f"{environment}: bioreactor", done, len(tasks))

    results = map_tasks(
        _simulate_task, (kinetic_model, settings), tasks, settings.processes, on_result=progress
    )
    time_courses, summary = ensemble_tables(results)
    if len(summary):
        logger.info(
            "%s: %d/%d models reached substrate exhaustion; median %.3g s per model",
            environment,
            int(summary["reached_exhaustion"].sum()),
            len(summary),
            float(summary["wall_s"].median()),
        )
    return time_courses, summary


def ensemble_tables(results: list[tuple[Any, BatchResult]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ensemble's time courses (long, with a ``model`` column) and summary rows."""
    courses = []
    rows = []
    for label, result in results:
        course = result.time_course.copy()
        course.insert(0, "model", label)
        courses.append(course)
        rows.append({"model": label} | result.summary)
    # An empty ensemble (no valid model found) still gets the columns readers look up.
    summary = pd.DataFrame(
        rows, columns=None if rows else ["model", "steady_state", "substrate", "status"]
    )
    # Failed models have no time course; empty frames would only upset pandas' dtype logic.
    filled = [course for course in courses if len(course)]
    time_courses = (
        pd.concat(filled, ignore_index=True)
        if filled
        else pd.DataFrame(columns=courses[0].columns if courses else ["model"])
    )
    return time_courses, summary
