"""Stability of training runs: how often, how fast and how steadily each method reaches a target.

The stability benchmark reads one history table per (method, seed) run (see
:class:`~kinetigen.es.generations.HistoryRecorder`): :func:`stability_runs` gives one row per
run and :func:`summarise_stability` the summary per method over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


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
