"""Figure conventions shared by every plot: sizes, fonts, saving PNG and PDF together."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are written to files on laptops and cluster nodes alike

import matplotlib.pyplot as plt  # noqa: E402

from kinetigen.io import atomic_path  # noqa: E402

plt.rcParams.update(
    {
        "figure.dpi": 150,
        "savefig.dpi": 150,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

# One colour per method or group, the same in every figure.
COLOURS = {
    "trnes": "#1b7837",
    "renaissance": "#c51b7d",
    "renaissance-ours": "#de77ae",
    "sep-cma": "#2166ac",
    "oracle": "#808080",
    "generated": "#1b7837",
    "slow": "#f4a582",
    "unstable": "#b2182b",
}


def save_figure(figure: plt.Figure, png_path: str | os.PathLike) -> None:
    """Write ``figure`` as PNG at ``png_path`` and as PDF beside it, atomically."""
    png_path = Path(png_path)
    for path in (png_path, png_path.with_suffix(".pdf")):
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=path.suffix[1:], bbox_inches="tight")
    plt.close(figure)
