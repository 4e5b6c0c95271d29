"""Figures of the control analysis: top controlling enzymes, control across environments, and
enzyme perturbation outcomes (what the ``analysis_figures`` rule draws)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from kinetigen.io import read_csv, read_parquet
from kinetigen.plots.common import COLOURS, save_figure

GROUPS = ("generated", "oracle")
GROUP_LABELS = {"generated": "generated (valid)", "oracle": "ORACLE (valid)"}


def _env_of(path: str) -> str:
    return Path(path).parent.name


def fluxes_of_interest(summary: pd.DataFrame) -> list[str]:
    """Flux targets of interest in the order of one environment's summary (a fallback:
    the checks file gives growth first, then uptake; see :func:`load_analysis`)."""
    return list(dict.fromkeys(summary.loc[summary["flux_of_interest"], "target"]))


def top_enzymes(summary: pd.DataFrame, target: str, n: int) -> list[str]:
    """The ``n`` enzymes with the largest median |C^J| of ``target``, averaged over the groups
    (so that neither population picks the enzymes alone)."""
    rows = summary[(summary["kind"] == "flux") & (summary["target"] == target)]
    score = rows.groupby("enzyme", observed=True)["median_abs"].mean()
    return score.sort_values(ascending=False).index[:n].tolist()


def _boxes(axis, data: list[np.ndarray], positions: np.ndarray, colour: str) -> None:
    kept = [(d[np.isfinite(d)], p) for d, p in zip(data, positions, strict=True)]
    kept = [(d, p) for d, p in kept if len(d)]
    if not kept:
        return
    parts = axis.boxplot(
        [d for d, _ in kept],
        positions=[p for _, p in kept],
        widths=0.35,
        patch_artist=True,
        showfliers=False,
        manage_ticks=False,
    )
    for box in parts["boxes"]:
        box.set(facecolor=colour, alpha=0.7)
    for median in parts["medians"]:
        median.set(color="black")


def plot_control_top(
    coefficients: Mapping[str, pd.DataFrame],
    summaries: Mapping[str, pd.DataFrame],
    targets: Mapping[str, Sequence[str]],
    n_top: int = 5,
) -> plt.Figure:
    """One row per environment, one column per flux of interest (growth, substrate uptake,
    then any configured): box plots over the population of C^J of the ``n_top`` enzymes
    with the largest median |C^J|, generated and ORACLE-valid side by side.
    ``coefficients[env]``: group, model, kind, target, enzyme, coefficient."""
    envs = list(summaries)
    n_columns = max(len(targets[env]) for env in envs)
    figure, axes = plt.subplots(
        len(envs),
        n_columns,
        figsize=(4.6 * n_columns, 2.9 * len(envs)),
        squeeze=False,
    )
    for row, env in enumerate(envs):
        table = coefficients[env]
        flux = table[table["kind"] == "flux"]
        for column in range(n_columns):
            axis = axes[row, column]
            if column >= len(targets[env]):
                axis.axis("off")
                continue
            target = targets[env][column]
            enzymes = top_enzymes(summaries[env], target, n_top)
            rows = flux[flux["target"] == target]
            for k, group in enumerate(GROUPS):
                values = rows[rows["group"] == group]
                data = [
                    values.loc[values["enzyme"] == e, "coefficient"].to_numpy(float)
                    for e in enzymes
                ]
                _boxes(axis, data, np.arange(len(enzymes)) + (k - 0.5) * 0.4, COLOURS[group])
            axis.axhline(0.0, color="0.6", lw=0.8)
            axis.set_xticks(np.arange(len(enzymes)), enzymes, rotation=30, ha="right")
            role = "growth" if column == 0 else "substrate uptake" if column == 1 else "flux"
            axis.set_title(f"{env}: {role} ({target})", fontsize=9)
            if column == 0:
                axis.set_ylabel("C^J (dimensionless)")
    axes[-1, 0].set_xlabel("enzyme (reaction whose Vmax changes)")
    handles = [Patch(color=COLOURS[g], alpha=0.7, label=GROUP_LABELS[g]) for g in GROUPS]
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    figure.suptitle(
        f"Largest flux control coefficients (median |C^J|, top {n_top} per flux); "
        "boxes: quartiles over the population"
    )
    figure.tight_layout(rect=(0, 0.04, 1, 0.97))
    return figure


def plot_control_heatmap(
    summaries: Mapping[str, pd.DataFrame],
    targets: Mapping[str, Sequence[str]],
    n_top: int = 5,
) -> plt.Figure:
    """Median C^J of growth (left) and substrate uptake (right) for the union of each
    environment's top ``n_top`` enzymes, enzymes by environment; top row generated valid
    models, bottom row ORACLE-valid."""
    envs = list(summaries)
    roles = ["growth", "substrate uptake"]
    figure, axes = plt.subplots(2, 2, figsize=(4.0 + 1.1 * len(envs) * 2, 9.0), squeeze=False)
    image = None
    for column, role in enumerate(roles):
        enzymes = list(
            dict.fromkeys(
                e
                for env in envs
                if len(targets[env]) > column
                for e in top_enzymes(summaries[env], targets[env][column], n_top)
            )
        )
        for row, group in enumerate(GROUPS):
            values = np.full((len(enzymes), len(envs)), np.nan)
            for j, env in enumerate(envs):
                if len(targets[env]) <= column:
                    continue
                summary = summaries[env]
                rows = summary[
                    (summary["kind"] == "flux")
                    & (summary["target"] == targets[env][column])
                    & (summary["group"] == group)
                ].set_index("enzyme")["median"]
                values[:, j] = rows.reindex(enzymes).to_numpy(float)
            axis = axes[row, column]
            limit = max(float(np.nanmax(np.abs(values), initial=0.0)), 1e-6)
            image = axis.imshow(
                values,
                cmap="RdBu_r",
                norm=TwoSlopeNorm(0.0, -limit, limit),
                aspect="auto",
            )
            axis.set_xticks(np.arange(len(envs)), envs, rotation=40, ha="right")
            axis.set_yticks(np.arange(len(enzymes)), enzymes)
            axis.set_title(f"{role}: {GROUP_LABELS[group]}", fontsize=10)
            axis.set_ylabel("enzyme")
            bar = figure.colorbar(image, ax=axis, shrink=0.8)
            bar.set_label("median C^J (dimensionless)")
    figure.suptitle("How control shifts with the medium: median flux control coefficients")
    figure.tight_layout()
    return figure


# Fold changes people read at a glance; the axis labels those inside its range.
FOLD_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 2.0, 5.0, 10.0, 20.0, 50.0)


def _label_fold_axis(axis) -> None:
    """Log y axis of fold changes with labelled ticks also when the range spans less than a
    decade (log axes label decades only, which left narrow panels without numbers)."""
    axis.set_yscale("log")
    low, high = axis.get_ylim()
    ticks = [t for t in FOLD_TICKS if low <= t <= high]
    if len(ticks) < 3:
        ticks = sorted({float(f"{t:.2g}") for t in np.geomspace(low, high, 4)[1:-1]} | set(ticks))
    axis.set_yticks(ticks, [f"{t:g}" for t in ticks])
    axis.yaxis.set_minor_formatter(NullFormatter())
    axis.set_ylim(low, high)


def plot_perturbation_folds(perturbations: Mapping[str, pd.DataFrame]) -> plt.Figure:
    """One column per enzyme change, one row per flux (growth, substrate uptake): the
    distributions of the simulated fold change new/old flux over the models of each
    environment (log scale), generated and ORACLE-valid side by side; the fraction that
    reached no steady state is printed under each pair, and the median linear (MCA)
    prediction is marked by a cross."""
    envs = list(perturbations)
    changes = list(dict.fromkeys(c for t in perturbations.values() for c in t["change"]))
    figure, axes = plt.subplots(
        2,
        max(len(changes), 1),
        figsize=(1.0 + 0.9 * len(envs) * max(len(changes), 1), 7.5),
        squeeze=False,
    )
    for column, change in enumerate(changes):
        for row, role in enumerate(("growth", "substrate uptake")):
            axis = axes[row, column]
            for j, env in enumerate(envs):
                table = perturbations[env]
                targets = list(dict.fromkeys(table["target"]))
                if len(targets) <= row:
                    continue
                rows = table[(table["change"] == change) & (table["target"] == targets[row])]
                for k, group in enumerate(GROUPS):
                    subset = rows[rows["group"] == group]
                    position = j + (k - 0.5) * 0.4
                    _boxes(
                        axis, [subset["fold_change"].to_numpy(float)], [position], COLOURS[group]
                    )
                    if len(subset):
                        axis.plot(
                            position,
                            subset["linear_fold_change"].median(),
                            "x",
                            color="black",
                            ms=4,
                        )
                        missed = 1.0 - subset["reached"].mean()
                        axis.annotate(
                            f"{missed:.0%}",
                            (position, 0),
                            xycoords=("data", "axes fraction"),
                            ha="center",
                            va="bottom",
                            fontsize=6,
                            color=COLOURS[group],
                        )
            axis.axhline(1.0, color="0.6", lw=0.8)
            _label_fold_axis(axis)
            axis.set_xticks(np.arange(len(envs)), envs, rotation=40, ha="right", fontsize=7)
            axis.set_title(f"{change}: {role}", fontsize=9)
            if column == 0:
                axis.set_ylabel("fold change of the flux (new / old)")
    handles = [Patch(color=COLOURS[g], alpha=0.7, label=GROUP_LABELS[g]) for g in GROUPS]
    handles.append(plt.Line2D([], [], marker="x", ls="", color="black", label="linear (MCA)"))
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    figure.suptitle(
        "Enzyme perturbations simulated to the new steady state "
        "(numbers: fraction with no steady state reached)"
    )
    figure.tight_layout(rect=(0, 0.04, 1, 0.96))
    return figure


def load_analysis(
    summaries: Sequence[str], coefficients: Sequence[str], checks: Sequence[str] | None = None
) -> tuple[dict, dict, dict]:
    """Per environment: control summaries, the flux rows of interest of the coefficient
    tables, and the fluxes of interest in order (growth, uptake, configured ones) from the
    checks files (else from the summaries)."""
    summary = {_env_of(p): read_csv(p) for p in summaries}
    targets = {env: fluxes_of_interest(table) for env, table in summary.items()}
    for path in checks or []:
        with open(path) as handle:
            targets[_env_of(path)] = json.load(handle)["fluxes_of_interest"]
    tables = {}
    for path in coefficients:
        env = _env_of(path)
        table = read_parquet(path, filters=[("kind", "==", "flux")])
        tables[env] = table[table["target"].isin(targets[env])].astype(
            {"target": str, "enzyme": str, "group": str, "kind": str}
        )
    return summary, tables, targets


def make_analysis_figures(
    inputs: Mapping[str, Sequence[str]], outputs: Mapping[str, str], top_enzymes: int
) -> None:
    """Draw the three analysis figures from the rule's inputs (summaries, coefficients,
    checks, perturbations) into ``outputs`` (control_top, control_heatmap,
    enzyme_perturbations)."""
    summary, tables, targets = load_analysis(
        inputs["summaries"], inputs["coefficients"], inputs.get("checks")
    )
    save_figure(plot_control_top(tables, summary, targets, top_enzymes), outputs["control_top"])
    save_figure(plot_control_heatmap(summary, targets, top_enzymes), outputs["control_heatmap"])
    perturbations = {_env_of(p): read_csv(p) for p in inputs["perturbations"]}
    save_figure(plot_perturbation_folds(perturbations), outputs["enzyme_perturbations"])
