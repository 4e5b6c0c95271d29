"""Thermodynamic variability summary: feasible dG ranges of every reaction per environment."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kinetigen.columns import DG, FLUX


def plot_dg_ranges(variability: dict[str, pd.DataFrame]) -> plt.Figure:
    """Horizontal bars of [min, max] dG (kJ/mol) per reaction, one colour per environment.

    ``variability`` maps an environment name to its variability table (columns kind, id,
    minimum, maximum, as written by the tfa rule).
    """
    ranges = {
        env: table[table["kind"] == DG].set_index("id")[["minimum", "maximum"]]
        for env, table in variability.items()
    }
    reactions = sorted(set().union(*(frame.index for frame in ranges.values())))
    if not reactions:  # variability analysis switched off (tfa.variability: false)
        figure, axis = plt.subplots(figsize=(6, 2))
        axis.text(
            0.5,
            0.5,
            "no variability analysis in this run (tfa.variability: false)",
            ha="center",
            va="center",
        )
        axis.set_axis_off()
        return figure
    height = max(4.0, 0.16 * len(reactions) + 1.5)
    figure, axis = plt.subplots(figsize=(7.5, height))
    offsets = np.linspace(-0.3, 0.3, len(ranges)) if len(ranges) > 1 else [0.0]
    colours = plt.get_cmap("tab10")
    for k, (env, frame) in enumerate(ranges.items()):
        frame = frame.reindex(reactions)
        y = np.arange(len(reactions)) + offsets[k]
        axis.hlines(
            y,
            frame["minimum"].clip(-200, 200),
            frame["maximum"].clip(-200, 200),
            color=colours(k % 10),
            linewidth=2,
            label=env,
        )
    axis.axvline(0.0, color="black", linewidth=0.6)
    axis.set_yticks(np.arange(len(reactions)), reactions, fontsize=6)
    axis.invert_yaxis()
    axis.set_xlabel("feasible reaction Gibbs energy dG (kJ/mol, clipped to ±200)")
    axis.set_title("Thermodynamic variability: dG range per reaction and environment")
    # Outside the axes: inside, the legend hid the bars of the last reactions.
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="environment", frameon=False)
    return figure


def directionality_counts(variability: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per environment: reactions whose flux is always forward, always backward, either, or 0."""
    rows = []
    tolerance = 1e-9
    for env, table in variability.items():
        flux = table[table["kind"] == FLUX]
        forward = (flux["minimum"] > tolerance).sum()
        backward = (flux["maximum"] < -tolerance).sum()
        blocked = (
            (flux["minimum"].abs() <= tolerance) & (flux["maximum"].abs() <= tolerance)
        ).sum()
        rows.append(
            {
                "env": env,
                "forward": int(forward),
                "backward": int(backward),
                "blocked": int(blocked),
                "either": int(len(flux) - forward - backward - blocked),
            }
        )
    return pd.DataFrame(rows)
