"""The paper's figures, each drawn from tables in results/ (one function per figure)."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from kinetigen.kinetics.prior import KmPrior
from kinetigen.plots.common import COLOURS


def _plot_median_band(
    axis: plt.Axes,
    grids: list[np.ndarray],
    curves: list[np.ndarray],
    colour: str | None,
    label: str,
    from_first: bool = False,
    **line: object,
) -> None:
    """Median of the runs' curves (each on its own x grid) on a common grid up to the
    shortest run, with the interquartile range shaded when there are several. The grid
    starts at 0, or with ``from_first`` at the runs' latest first point (not drawing a run
    before its first record)."""
    start = max(g[0] for g in grids) if from_first else 0
    grid = np.linspace(start, min(g[-1] for g in grids), 100)
    values = np.array([np.interp(grid, g, c) for g, c in zip(grids, curves, strict=True)])
    axis.plot(grid, np.median(values, axis=0), color=colour, label=label, **line)
    if len(curves) > 1:
        low, high = np.percentile(values, [25, 75], axis=0)
        axis.fill_between(grid, low, high, color=colour, alpha=0.25, linewidth=0)


def plot_training_curves(
    histories: dict[str, list[pd.DataFrame]],
    adaptation: dict[str, dict[str, list[pd.DataFrame]]] | None = None,
    adaptation_targets: list[float] | None = None,
) -> plt.Figure:
    """Worst training environment's centre incidence (each environment at its latest score)
    vs model evaluations: median and IQR over seeds, one line per method. ``histories``
    maps a method to its runs' history tables.
    ``adaptation`` (environment -> {"adapted": runs, "from scratch": runs}) adds one panel
    per adapted environment: its monitor incidence on unseen steady states, adapted beside
    from scratch, with ``adaptation_targets`` drawn as dashed lines."""
    adaptation = adaptation or {}
    figure, axes = plt.subplots(
        1, 1 + len(adaptation), figsize=(6.5 + 5.5 * len(adaptation), 4.0), squeeze=False
    )
    axis = axes[0, 0]
    for method, runs in histories.items():
        grids, curves = [], []
        for history in runs:
            prefix = (
                "monitor_incidence:"
                if any(c.startswith("monitor_incidence:") for c in history.columns)
                else "centre_incidence:"
            )
            scores = history[[c for c in history.columns if c.startswith(prefix)]]
            # With environment subsets (training.environments_per_generation) a generation
            # scores some environments only: each keeps its latest score until scored again.
            worst = scores.ffill().min(axis=1)
            grids.append(history["model_evaluations"].to_numpy(float) / 1e6)
            curves.append(worst.to_numpy(float))
        _plot_median_band(axis, grids, curves, COLOURS.get(method), f"{method} (n={len(runs)})")
    axis.set_xlabel("model evaluations (millions of Jacobians)")
    axis.set_ylabel("incidence in the worst training environment")
    axis.set_ylim(-0.02, 1.02)
    axis.set_title("Training: median and interquartile range over seeds")
    axis.legend(frameon=False, loc="lower right")
    for axis, (env, kinds) in zip(axes[0, 1:], adaptation.items(), strict=True):
        _plot_adaptation(axis, env, kinds, adaptation_targets or [])
    if adaptation:
        figure.tight_layout()
    return figure


ADAPTATION_STYLES = {"adapted": {}, "from scratch": {"linestyle": "--"}}
ADAPTATION_LABELS = {
    "adapted": "adapted: the one-for-all generator fine-tuned",
    "from scratch": "per-environment generator from scratch",
}


def _monitor_runs(
    kinds: dict[str, list[pd.DataFrame]], column: str
) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """Per kind of run ("adapted", "from scratch"): the x grids (thousands of model
    evaluations) and the curves of ``column`` of the runs that record it (kinds without one
    are left out)."""
    found = {}
    for kind, runs in kinds.items():
        runs = [run.dropna(subset=[column]) for run in runs if column in run.columns]
        if runs:
            grids = [run["model_evaluations"].to_numpy(float) / 1e3 for run in runs]
            found[kind] = (grids, [run[column].to_numpy(float) for run in runs])
    return found


def _plot_spread(
    axis: plt.Axes, env: str, kinds: dict[str, list[pd.DataFrame]], colours: dict[str, str]
) -> plt.Axes | None:
    """The runs' monitor Km spread (median over seeds) on a right-hand axis of ``axis``: a
    generator that reaches validity by narrowing its Km to a point shows here (None: no run
    records the spread)."""
    found = _monitor_runs(kinds, f"monitor_spread:{env}")
    if not found:
        return None
    spread_axis = axis.twinx()
    for kind, (grids, curves) in found.items():
        label = f"Km spread, {kind} (right axis)"
        _plot_median_band(
            spread_axis, grids, curves, colours.get(kind), label, True, linestyle="-.",
            linewidth=1.0,
        )  # fmt: skip
        for band in spread_axis.collections:
            band.set_alpha(0.1)
    spread_axis.set_ylabel("Km spread (sd of ln Km at a steady state)")
    spread_axis.set_ylim(bottom=0)
    return spread_axis


def _plot_adaptation(
    axis: plt.Axes, env: str, kinds: dict[str, list[pd.DataFrame]], targets: list[float]
) -> None:
    """One adapted environment: monitor incidence (unseen steady states) of the adapted and
    the from-scratch runs against model evaluations, median and IQR over seeds, and where
    recorded their Km spread on a right-hand axis."""
    colours = {"adapted": COLOURS["trnes"], "from scratch": COLOURS["oracle"]}
    for kind, (grids, curves) in _monitor_runs(kinds, f"monitor_incidence:{env}").items():
        label = f"{ADAPTATION_LABELS.get(kind, kind)} (n={len(curves)})"
        _plot_median_band(
            axis, grids, curves, colours.get(kind), label, True, **ADAPTATION_STYLES[kind]
        )
    for target in targets:
        axis.axhline(target, color="black", linestyle=":", linewidth=0.8)
    axis.set_xlabel("model evaluations (thousands of Jacobians)")
    axis.set_ylabel("incidence on unseen steady states")
    axis.set_ylim(-0.02, 1.02)
    where = ", ".join(f"{t:g}" for t in targets)
    axis.set_title(f"Adaptation to {env}" + (f" (dotted: targets {where})" if targets else ""))
    handles, labels = axis.get_legend_handles_labels()
    spread_axis = _plot_spread(axis, env, kinds, colours)
    if spread_axis is not None:
        more_handles, more_labels = spread_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axis.legend(handles, labels, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.15))


def _signed_log(values: np.ndarray) -> np.ndarray:
    """sign(x) log10(1 + |x|): spreads lambda_max from -1e4 to 1e4 1/h over one readable axis."""
    return np.sign(values) * np.log10(1.0 + np.abs(values))


def plot_lambda_distributions(
    generated: dict[str, np.ndarray], oracle: dict[str, np.ndarray], thresholds: dict[str, float]
) -> plt.Figure:
    """Histograms of lambda_max (signed log axis) per environment, generator vs ORACLE."""
    envs = list(oracle)
    columns = min(3, len(envs))
    rows = int(np.ceil(len(envs) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    bins = np.linspace(-4.5, 4.5, 61)
    # Ticks at least one decade apart on the signed log axis (-1, 0, 1 ran together).
    ticks = np.array([-1e4, -1e2, -10.0, 0.0, 10.0, 1e2, 1e4])
    for axis, env in zip(axes.flat, envs, strict=False):
        for label, values, colour in (
            ("ORACLE", oracle[env], COLOURS["oracle"]),
            ("generator", generated.get(env, np.array([])), COLOURS["generated"]),
        ):
            finite = np.clip(values[np.isfinite(values)], -1e4, 1e4)
            if finite.size:
                axis.hist(
                    _signed_log(finite),
                    bins=bins,
                    histtype="step",
                    linewidth=1.5,
                    color=colour,
                    label=label,
                    weights=np.full(finite.size, 1 / finite.size),
                )
        axis.axvline(
            _signed_log(np.array(thresholds[env])),
            color="black",
            linestyle="--",
            linewidth=1,
            label="threshold",
        )
        axis.set_xticks(_signed_log(ticks), ["-1e4", "-100", "-10", "0", "10", "100", "1e4"])
        axis.set_title(env)
        axis.set_xlabel("lambda_max (1/h, signed log scale)")
        axis.set_ylabel("fraction of models")
    for axis in list(axes.flat)[len(envs) :]:
        axis.set_visible(False)
    axes.flat[0].legend(frameon=False, fontsize=8)
    figure.suptitle(
        "Largest Jacobian eigenvalue of generated vs ORACLE models (valid: left of ---)"
    )
    figure.tight_layout()
    return figure


GROUP_LABELS = {
    "generated": "generated (valid)",
    "oracle": "ORACLE (valid)",
    "slow": "ORACLE, stable but too slow (control)",
    "unstable": "ORACLE, unstable",
}
GROUP_ORDER = ("generated", "oracle", "slow", "unstable")


def plot_return_fractions(
    summary: pd.DataFrame,
    tolerance: float | None = None,
    return_time_factor: float | None = None,
    trajectories: pd.DataFrame | None = None,
) -> plt.Figure:
    """Top row: fraction of perturbations after which models returned, per group, magnitude
    and environment (``summary``: env, group, magnitude, fraction_returned). Bottom row (with
    ``trajectories``: env, group, model, magnitude, time_per_return_time, deviation): a few
    models' largest relative deviation against time in units of the return time, log scale,
    with the tolerance and the return time marked. ``tolerance`` and ``return_time_factor``
    (validation settings of the run) go into the title."""
    envs = list(dict.fromkeys(summary["env"]))
    groups = [g for g in GROUP_ORDER if g in set(summary["group"])]
    magnitudes = sorted(summary["magnitude"].unique())
    rows = 1 if trajectories is None or trajectories.empty else 2
    figure, axes = plt.subplots(
        rows, len(magnitudes), figsize=(4.8 * len(magnitudes), 4.0 * rows), squeeze=False
    )
    width = 0.8 / len(groups)
    for axis, magnitude in zip(axes[0], magnitudes, strict=True):
        subset = summary[summary["magnitude"] == magnitude]
        for k, group in enumerate(groups):
            values = subset[subset["group"] == group].set_index("env").reindex(envs)
            axis.bar(
                np.arange(len(envs)) + k * width,
                values["fraction_returned"],
                width,
                color=COLOURS[group],
                label=GROUP_LABELS.get(group, group),
            )
        axis.set_xticks(
            np.arange(len(envs)) + width * (len(groups) - 1) / 2, envs, rotation=45, ha="right"
        )
        axis.set_title(f"perturbation ±{magnitude:.0%}")
        axis.set_ylim(0, 1.05)
    axes[0, 0].set_ylabel("fraction of perturbations returned")
    axes[0, -1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="models")
    if rows == 2:
        _plot_trajectories(axes[1], trajectories, magnitudes, groups, tolerance)
    title = "Return to steady state after perturbation (unseen steady states)"
    if tolerance is not None and return_time_factor is not None:
        title += (
            f"\nreturned: every concentration within {tolerance:.0%} of the steady state"
            f" after {return_time_factor:g} doubling time{'s' if return_time_factor != 1 else ''}"
            " (the return time)"
        )
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def _plot_trajectories(
    axes: np.ndarray,
    trajectories: pd.DataFrame,
    magnitudes: list[float],
    groups: list[str],
    tolerance: float | None,
) -> None:
    """Deviation against time of the first environment's recorded models, per magnitude."""
    env = trajectories["env"].iloc[0]
    shown = trajectories[trajectories["env"] == env]
    for axis, magnitude in zip(axes, magnitudes, strict=True):
        subset = shown[np.isclose(shown["magnitude"], magnitude)]
        for (group, _model), line in subset.groupby(["group", "model"], sort=False):
            if group in groups:
                deviation = np.maximum(line["deviation"].to_numpy(float), 1e-12)
                axis.semilogy(
                    line["time_per_return_time"],
                    deviation,
                    color=COLOURS[group],
                    alpha=0.8,
                    lw=1.2,
                )
        if tolerance is not None:
            axis.axhline(tolerance, color="black", ls="--", lw=0.8)
            # The integrator resolves about 1e-4 relative: below that is solver noise.
            axis.set_ylim(bottom=tolerance * 1e-2)
        axis.axvline(1.0, color="black", ls=":", lw=0.8)
        axis.set_xlabel("time (units of the return time)")
        axis.set_title(f"{env}: trajectories, ±{magnitude:.0%}")
    axes[0].set_ylabel("largest relative deviation |x - x_ss| / x_ss")
    axes[-1].legend(
        handles=[
            Line2D([], [], color="black", ls="--", lw=0.8, label="tolerance"),
            Line2D([], [], color="black", ls=":", lw=0.8, label="return time"),
        ]
        + [Line2D([], [], color=COLOURS[g], label=GROUP_LABELS.get(g, g)) for g in groups],
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )


def _transfer_column_order(kind: str) -> tuple[bool, int, str]:
    """Unseen steady states before in-sample ones; within each: the one-for-all generators
    (zero-shot on held-out rows), adapted, per-environment (from scratch), ORACLE."""
    base = kind.removesuffix(", in-sample")
    kinds = ("(one for all)", "adapted (", "per-environment (")
    rank = min((i for i, name in enumerate(kinds) if name in base), default=len(kinds))
    return base != kind, rank, base


def plot_transfer_matrix(incidence: pd.DataFrame) -> plt.Figure:
    """Heat map of incidence: environments (rows) x generator kinds (columns), with the
    split (train / held-out) in the row labels. ``incidence`` has env, split, kind,
    incidence."""
    table = incidence.pivot_table(index="env", columns="kind", values="incidence")
    table = table[sorted(table.columns, key=_transfer_column_order)]
    splits = incidence.drop_duplicates("env").set_index("env")["split"]
    # Rows as the runs list them (the config's order, not the alphabet's), held-out last.
    held_out = splits == "heldout"
    table = table.reindex([*splits.index[~held_out], *splits.index[held_out]])
    figure, axis = plt.subplots(figsize=(1.6 * table.shape[1] + 3, 0.5 * table.shape[0] + 1.5))
    image = axis.imshow(table.to_numpy(float), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for (i, j), value in np.ndenumerate(table.to_numpy(float)):
        finite = bool(np.isfinite(value))
        axis.text(
            j,
            i,
            f"{value:.2f}" if finite else "-",
            ha="center",
            va="center",
            color=("white" if value < 0.6 else "black") if finite else "grey",
            fontsize=9,
        )
    axis.set_xticks(range(table.shape[1]), table.columns, rotation=20, ha="right")
    axis.set_yticks(
        range(table.shape[0]), [f"{env} ({splits.get(env, '?')})" for env in table.index]
    )
    figure.colorbar(image, ax=axis, label="incidence (fraction of models valid)")
    title = "Environment transfer: incidence per environment and generator (-: not evaluated)"
    if any(str(kind).startswith("adapted (") for kind in table.columns):
        # The held-out rows then read as the comparison.
        title += (
            "\nheld-out rows: one for all = zero-shot, adapted = fine-tuned from it,"
            " per-environment = from scratch (mean over seeds)"
        )
    axis.set_title(title)
    return figure


def plot_bioreactor(
    time_courses: pd.DataFrame, substrate_columns: list[str], environment: str | None = None
) -> plt.Figure:
    """Biomass and extracellular concentrations over time, one thin line per model."""
    panels = ["biomass_gDW_per_L", *substrate_columns]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.5), squeeze=False)
    for axis, column in zip(axes.flat, panels, strict=True):
        for _, course in time_courses.groupby("model"):
            axis.plot(
                course["time_h"], course[column], color=COLOURS["generated"], alpha=0.4, linewidth=1
            )
        axis.set_xlabel("time (h)")
        axis.set_ylabel(
            "biomass (gDW/L)"
            if column == panels[0]
            else column.replace("_mmol_per_L", "") + " (mmol/L)"
        )
    where = f", {environment}" if environment else ""
    figure.suptitle(f"Batch culture of generated models{where} (one line per model)")
    figure.tight_layout()
    return figure


@dataclass(frozen=True)
class KmReference:
    """The Km prior drawn in the Km figure (:class:`kinetigen.kinetics.prior.KmPrior`, by
    default its documented defaults: median 0.1 mM, one decade, Bar-Even et al. 2011);
    ``used`` says whether the run samples from it (``kinetics.km_prior.kind lognormal``) or
    it is only the literature reference."""

    prior: KmPrior = KmPrior(1.0e-4, 1.0)
    used: bool = False

    @property
    def central_range_M(self) -> tuple[float, float]:
        """median_M x 10^(+-log10_sd): the central 68 % (10 uM to 1 mM by default)."""
        spread = 10.0**self.prior.log10_sd
        return self.prior.median_M / spread, self.prior.median_M * spread

    @property
    def factor_ten_range_M(self) -> tuple[float, float]:
        """The central range widened by a factor of 10 each way (1 uM to 10 mM by default)."""
        low, high = self.central_range_M
        return low / 10.0, high * 10.0

    def fraction_within_factor_ten(self, log10_km_M: np.ndarray) -> float:
        """Fraction of the Km within a factor of 10 of the central range."""
        low, high = np.log10(self.factor_ten_range_M)
        values = np.asarray(log10_km_M, dtype=float)
        values = values[np.isfinite(values)]
        return float(((values >= low) & (values <= high)).mean()) if values.size else np.nan


def _molar(value_M: float) -> str:
    """1e-6 -> '1 uM', 0.01 -> '10 mM'."""
    for scale, unit in ((1.0, "M"), (1e-3, "mM"), (1e-6, "uM"), (1e-9, "nM")):
        if value_M >= scale * (1 - 1e-9):
            return f"{value_M / scale:g} {unit}"
    return f"{value_M:g} M"


def _draw_km_references(
    km_axis: plt.Axes,
    n_envs: int,
    reference: KmReference | None,
    measured: pd.DataFrame | None,
) -> list:
    """The prior's central range (shaded) and a factor of 10 beyond it (dashed), and the
    measured Km (black bars left of each environment); returns their legend handles."""
    handles: list = []
    if reference is not None:
        what = "Km prior" if reference.used else "literature Km prior (not sampled)"
        low, high = np.log10(reference.central_range_M)
        km_axis.axhspan(low, high, color="grey", alpha=0.15, linewidth=0)
        for bound in np.log10(reference.factor_ten_range_M):
            km_axis.axhline(bound, color="grey", linestyle="--", linewidth=1)
        central = "-".join(_molar(v) for v in reference.central_range_M)
        wide = "-".join(_molar(v) for v in reference.factor_ten_range_M)
        handles.append(Patch(color="grey", alpha=0.15, label=f"{what}, central: {central}"))
        wider = f"factor 10 wider: {wide}"
        handles.append(Line2D([], [], color="grey", linestyle="--", label=wider))
    if measured is not None and len(measured):
        for i in range(n_envs):
            x = np.full(len(measured), i - 0.46)
            low, high = np.log10(measured["low_M"]), np.log10(measured["high_M"])
            km_axis.vlines(x, low, high, color="black", linewidth=2)
            km_axis.plot(x, (low + high) / 2, "k_", markersize=7)
        handles.append(Line2D([], [], color="black", marker="_", linewidth=2, label="measured Km"))
    return handles


def _km_tick_labels(
    values: pd.DataFrame,
    envs: list[str],
    groups: list[tuple[str, str]],
    reference: KmReference | None,
) -> list[str]:
    """Per environment: its name, the models per group and, with a prior, each group's
    fraction of Km within a factor of 10 of the prior's central range."""
    counts = values.drop_duplicates(["env", "group", "model"]).groupby(["env", "group"]).size()
    labels = []
    for env in envs:
        label = env + "\nn = " + " | ".join(str(counts.get((env, g), 0)) for g, _ in groups)
        if reference is not None:
            fractions = [
                reference.fraction_within_factor_ten(
                    values.loc[(values["env"] == env) & (values["group"] == g), "log10_km_M"]
                )
                for g, _ in groups
            ]
            label += "\nnear prior: " + " | ".join(f"{f:.2f}" for f in fractions)
        labels.append(label)
    return labels


def plot_km_saturation(
    values: pd.DataFrame,
    km_bounds_M: tuple[float, float] | None = None,
    reference: KmReference | None = None,
    measured: pd.DataFrame | None = None,
) -> plt.Figure:
    """Violins of log10 Km (mol/L, top) and of saturation sigma = x/(x+Km) (bottom) per
    environment, generated valid models beside ORACLE-valid models (every Km of every model
    pooled). ``values`` has env, group ("generated" or "oracle"), log10_km_M and saturation,
    one row per model and parameter; ``km_bounds_M`` draws the configured Km range;
    ``reference`` the Km prior (its central range shaded, a factor of 10 around it dashed, and
    per environment and group the fraction of Km within that factor in the tick labels);
    ``measured`` (name, low_M, high_M, source) the measured Km (black bars at the left of
    every environment: generated models keep them exactly)."""
    envs = list(dict.fromkeys(values["env"]))
    groups = [
        (group, label)
        for group, label in (("generated", "generator (valid)"), ("oracle", "ORACLE (valid)"))
        if group in set(values["group"])
    ]
    figure, (km_axis, saturation_axis) = plt.subplots(
        2, 1, figsize=(max(7.5, 1.9 * len(envs) + 3.0), 7.5), sharex=True
    )
    width = 0.8 / max(1, len(groups))
    for k, (group, _) in enumerate(groups):
        offset = (k - (len(groups) - 1) / 2) * width
        for axis, column in ((km_axis, "log10_km_M"), (saturation_axis, "saturation")):
            data, positions = [], []
            for i, env in enumerate(envs):
                column_values = values.loc[
                    (values["env"] == env) & (values["group"] == group), column
                ].to_numpy(float)
                column_values = column_values[np.isfinite(column_values)]
                if column_values.size > 1:  # a violin needs a spread
                    data.append(column_values)
                    positions.append(i + offset)
            if not data:
                continue
            parts = axis.violinplot(
                data, positions, widths=0.95 * width, showmedians=True, showextrema=False
            )
            for body in parts["bodies"]:
                body.set_facecolor(COLOURS[group])
                body.set_edgecolor(COLOURS[group])
                body.set_alpha(0.5)
            parts["cmedians"].set_color("black")
    handles = [Patch(color=COLOURS[group], alpha=0.5, label=label) for group, label in groups]
    handles.append(Line2D([], [], color="black", label="median"))
    if km_bounds_M is not None:
        for bound in km_bounds_M:
            km_axis.axhline(np.log10(bound), color="black", linestyle=":", linewidth=1)
        handles.append(Line2D([], [], color="black", linestyle=":", label="Km bounds"))
    handles += _draw_km_references(km_axis, len(envs), reference, measured)
    km_axis.set_ylabel("log10 Km (Km in mol/L)")
    km_axis.set_title("Michaelis constants")
    saturation_axis.set_ylabel("saturation x/(x+Km) (-)")
    saturation_axis.set_ylim(-0.02, 1.02)
    saturation_axis.set_title("Saturation at the model's steady state")
    labels = _km_tick_labels(values, envs, groups, reference)
    saturation_axis.set_xticks(range(len(envs)), labels, fontsize=8)
    near = ", near prior: fraction of Km within a factor 10 of its central range"
    near = near if reference is not None else ""
    saturation_axis.set_xlabel(
        "environment (n = models: " + " | ".join(label for _, label in groups) + near + ")"
    )
    km_axis.legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.suptitle("Km and saturation of valid models (every parameter of every model pooled)")
    figure.tight_layout()
    return figure
