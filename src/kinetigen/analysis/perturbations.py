"""Enzyme perturbation studies: change enzyme levels, simulate to the new steady state.

A change multiplies the Vmax of one or more reactions by a fold (0.5 a knockdown, 2 or 5 an
overexpression, 0.05 a near-knockout). The nonlinear model of each parameter set is
integrated from its old steady state with a stiff solver (:func:`kinetigen.analysis.steady.
settle`) until it settles at a new one, or is reported as "no steady state reached" with the
reason (a metabolite depleted or accumulating, still changing at the horizon, unstable).
Per model, change and flux of interest: the new flux, its fold change and the time to settle,
beside the linear (MCA) prediction exp(sum_k C^J_k ln fold_k), which is exact to first order
in ln fold and so meant for small folds.

Fluxes of interest (:class:`FluxTargets`) are reactions of the kinetic model or exchange
reactions of its boundary metabolites: at a steady state an exchange carries what the
kinetic reactions make or use of its metabolite, J = w . v.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import cobra
import numpy as np
import pandas as pd

from kinetigen.analysis.steady import settle, with_enzyme_levels
from kinetigen.kinetics import KineticModel, NonlinearModel

log = logging.getLogger(__name__)


class AnalysisError(ValueError):
    """A flux of interest or an enzyme that the kinetic model of an environment lacks."""


@dataclass(frozen=True)
class EnzymeChange:
    """Vmax of ``reactions`` multiplied by ``fold`` (> 0)."""

    reactions: tuple[str, ...]
    fold: float

    @property
    def label(self) -> str:
        return f"{'+'.join(self.reactions)} x{self.fold:g}"


def enzyme_changes(
    perturbations: Sequence[Mapping[str, Any]], environment: str | None = None
) -> list[EnzymeChange]:
    """The ``analysis.perturbations`` entries as changes, those that apply to
    ``environment`` (their ``environments`` key; all with None)."""
    return [
        EnzymeChange(tuple(entry["reactions"]), float(entry["fold"]))
        for entry in perturbations
        if environment is None or environment in entry.get("environments", [environment])
    ]


@dataclass
class FluxTargets:
    """Fluxes J_t = ``weights``[t] . v of the kinetic model's rates v (mol/L/h):
    ``names`` the reaction ids (kinetic reactions or exchanges, cobra's sign convention)."""

    names: list[str]
    weights: np.ndarray  # [T, reactions]


def flux_targets(
    model: KineticModel, cobra_model: cobra.Model, reactions: Sequence[str]
) -> FluxTargets:
    """The weights of fluxes ``reactions`` in ``model`` (see :class:`FluxTargets`).

    A kinetic reaction is itself; the biomass reaction of a drained model (``kinetics.
    biomass_law: per_substrate``) is growth, ``KineticModel.growth_weights`` (the
    carbon-weighted mean of the drains, equal to the biomass flux at each steady state, so its
    C^J is the same weighted mean of the drains' and the perturbations compare growth before
    and after); an exchange of a boundary metabolite m with coefficient
    s_m carries v_EX = -(1/s_m) sum_j N_mj v_j at a steady state. Raises
    :class:`AnalysisError` naming the reaction and the environment otherwise.
    """
    weights = []
    growth = model.growth_weights()
    for reaction_id in reactions:
        row = np.zeros(len(model.reactions))
        if reaction_id in model.reactions:
            row[model.reactions.index(reaction_id)] = 1.0
        elif reaction_id == model.settings.biomass_reaction and growth.any():
            row = growth
        else:
            reaction = cobra_model.reactions.get_by_id(reaction_id)
            metabolites = list(reaction.metabolites.items())
            if reaction in cobra_model.boundary and len(metabolites) == 1:
                metabolite, coefficient = metabolites[0]
                row = np.array(
                    [-c.get(metabolite.id, 0.0) / coefficient for c in model.reaction_metabolites]
                )
            if not row.any():
                raise AnalysisError(
                    f"environment {model.environment!r}: flux {reaction_id!r} is not in the "
                    "kinetic model (inactive in its steady states, or it changes no state)"
                )
        weights.append(row)
    return FluxTargets(list(reactions), np.array(weights).reshape(len(reactions), -1))


def enzyme_positions(model: KineticModel, change: EnzymeChange) -> np.ndarray:
    """Positions of ``change``'s reactions in ``model``; :class:`AnalysisError` naming the
    first one that the kinetic model lacks."""
    missing = [r for r in change.reactions if r not in model.reactions]
    if missing:
        raise AnalysisError(
            f"environment {model.environment!r}: enzyme {missing[0]!r} of perturbation "
            f"{change.label!r} is not in the kinetic model (inactive in this environment's "
            "steady states); restrict the change with its 'environments' key"
        )
    return np.array([model.reactions.index(r) for r in change.reactions])


def linear_prediction(flux_control: np.ndarray, positions: np.ndarray, fold: float) -> np.ndarray:
    """Fold changes exp(sum_k C^J_tk ln fold) that MCA predicts from C^J [..., T, reactions]
    for the enzymes at ``positions`` all scaled by ``fold``."""
    return np.exp(flux_control[..., positions].sum(-1) * np.log(fold))


@dataclass
class PerturbationTask:
    """One model's changes (a worker's unit of work)."""

    group: str
    model_index: int
    position: int
    ln_km: np.ndarray
    flux_control: np.ndarray  # [T, reactions] C^J of the targets (NaN where not available)
    doubling_time_h: float


def _simulate_model(
    task: PerturbationTask,
    model: KineticModel,
    changes: list[tuple[EnzymeChange, np.ndarray]],
    targets: FluxTargets,
    horizon_doubling_times: float,
    tolerance: float,
    flux_unit: float,
) -> list[dict]:
    nonlinear = NonlinearModel(model, task.position, task.ln_km)
    before = targets.weights @ nonlinear.rates(nonlinear.x_ref)
    rows = []
    for change, positions in changes:
        fold = np.ones(len(model.reactions))
        fold[positions] = change.fold
        result = settle(
            with_enzyme_levels(nonlinear, fold),
            nonlinear.x_ref,
            horizon=horizon_doubling_times * task.doubling_time_h,
            tolerance=tolerance,
        )
        after = targets.weights @ result.rates if result.reached else np.full(len(before), np.nan)
        predicted = linear_prediction(task.flux_control, positions, change.fold)
        for t, name in enumerate(targets.names):
            rows.append(
                {
                    "group": task.group,
                    "model": task.model_index,
                    "steady_state": task.position,
                    "change": change.label,
                    "reactions": "+".join(change.reactions),
                    "fold": change.fold,
                    "target": name,
                    "flux_before": before[t] / flux_unit,
                    "flux_after": after[t] / flux_unit,
                    "fold_change": after[t] / before[t],
                    "linear_fold_change": predicted[t],
                    "reached": result.reached,
                    "time_to_settle_h": result.time_to_settle,
                    "time_to_settle_per_doubling": result.time_to_settle / task.doubling_time_h,
                    "lambda_max_after": result.lambda_max,
                    "reason": result.reason,
                }
            )
    return rows


def _run_task(arguments: tuple) -> list[dict]:
    return _simulate_model(*arguments)


def enzyme_perturbations(
    model: KineticModel,
    tasks: list[PerturbationTask],
    changes: Sequence[EnzymeChange],
    targets: FluxTargets,
    horizon_doubling_times: float = 10.0,
    tolerance: float = 0.01,
    processes: int = 1,
) -> pd.DataFrame:
    """Simulate every change on every task's model; one row per (model, change, target):
    group, model, steady_state, change, reactions, fold, target, flux_before, flux_after
    (mmol/gDW/h), fold_change (NaN when no steady state was reached), linear_fold_change,
    reached, time_to_settle_h (inf when not reached), time_to_settle_per_doubling,
    lambda_max_after (1/h), reason (why no steady state was reached; empty when reached).

    Integration horizon: ``horizon_doubling_times`` doubling times of each model's steady
    state; ``tolerance`` the relative settling band.
    """
    resolved = [(change, enzyme_positions(model, change)) for change in changes]
    flux_unit = model.settings.flux_to_molar_rate
    arguments = [
        (task, model, resolved, targets, horizon_doubling_times, tolerance, flux_unit)
        for task in tasks
    ]
    log.info(
        "%s: enzyme perturbations: %d models x %d changes",
        model.environment,
        len(tasks),
        len(resolved),
    )
    rows: list[dict] = []
    if processes > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
            for done, part in enumerate(pool.map(_run_task, arguments, chunksize=2)):
                rows.extend(part)
                _progress(model.environment, done + 1, len(tasks))
    else:
        for done, item in enumerate(arguments):
            rows.extend(_run_task(item))
            _progress(model.environment, done + 1, len(tasks))
    return pd.DataFrame(rows, columns=PERTURBATION_COLUMNS)


PERTURBATION_COLUMNS = [
    "group",
    "model",
    "steady_state",
    "change",
    "reactions",
    "fold",
    "target",
    "flux_before",
    "flux_after",
    "fold_change",
    "linear_fold_change",
    "reached",
    "time_to_settle_h",
    "time_to_settle_per_doubling",
    "lambda_max_after",
    "reason",
]


def _progress(environment: str, done: int, total: int) -> None:
    if done == total or done % max(1, total // 10) == 0:
        log.info("%s: enzyme perturbations: %d/%d models done", environment, done, total)


def perturbation_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per group, change and target: models, fraction that reached a steady state, median
    and quartiles of the fold change, median time to settle (h), and the median relative
    error of the linear prediction |linear / simulated - 1| (over models that settled)."""
    table = table.assign(
        linear_error=(table["linear_fold_change"] / table["fold_change"] - 1).abs()
    )
    grouped = table.groupby(["group", "change", "fold", "target"], sort=False)
    summary = grouped.agg(
        n_models=("model", "nunique"),
        fraction_reached=("reached", "mean"),
        fold_change_median=("fold_change", "median"),
        fold_change_q25=("fold_change", lambda s: s.quantile(0.25)),
        fold_change_q75=("fold_change", lambda s: s.quantile(0.75)),
        linear_fold_change_median=("linear_fold_change", "median"),
        linear_error_median=("linear_error", "median"),
        time_to_settle_median_h=("time_to_settle_h", lambda s: s[np.isfinite(s)].median()),
    ).reset_index()
    reasons = (
        table[~table["reached"]]
        .drop_duplicates(["group", "model", "change"])
        .assign(reason=lambda t: t["reason"].str.replace(r" at t = .*| \(.*|:.*", "", regex=True))
        .groupby(["group", "change"])["reason"]
        .agg(lambda s: "; ".join(f"{k} ({v})" for k, v in s.value_counts().items()))
    )
    summary["reasons_not_reached"] = [
        reasons.get((g, c), "") for g, c in zip(summary["group"], summary["change"], strict=True)
    ]
    return summary
