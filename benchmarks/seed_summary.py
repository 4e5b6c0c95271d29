"""Median and range over training seeds of the numbers the README and closing notes quote.

Run after a workflow run with several seeds (``snakemake --configfile config/seeds.yaml``):

    python benchmarks/seed_summary.py [results] [--method trnes]

Reads ``results/training/{method}/seed*/incidence.csv`` (and the per-environment runs of
the held-out environments, RENAISSANCE's way) and ``results/envs/*/oracle_summary.json``.
Prints, per environment and steady-state set (``unseen``: the evaluation steady states no
generator trained on; ``training``: in-sample), the median incidence over seeds with its
range, valid models per CPU-second, and ORACLE's incidence on the same unseen steady states;
then the worst training environment per seed on unseen steady states.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def seed_tables(folder: Path) -> pd.DataFrame:
    """Every seed's incidence table under ``folder`` (one ``seed<k>/incidence.csv`` each)."""
    frames = [
        pd.read_csv(path).assign(seed=int(path.parent.name.removeprefix("seed")))
        for path in sorted(folder.glob("seed*/incidence.csv"))
    ]
    if not frames:
        raise SystemExit(f"no seed*/incidence.csv under {folder}")
    table = pd.concat(frames, ignore_index=True)
    return table[~table["env"].astype(str).str.startswith("all:")]


def median_range(values: pd.Series) -> str:
    return f"{values.median():.3f} ({values.min():.3f}-{values.max():.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--method", default="trnes")
    args = parser.parse_args()
    table = seed_tables(args.results / "training" / args.method)
    oracle = {
        path.parent.name: json.loads(path.read_text())["incidence"]
        for path in (args.results / "envs").glob("*/oracle_summary.json")
    }
    rows = []
    for (env, split, steady_states), group in table.groupby(
        ["env", "split", "steady_states"], sort=False
    ):
        rows.append(
            {
                "env": env,
                "split": split,
                "steady_states": steady_states,
                "seeds": group["seed"].nunique(),
                "incidence median (range)": median_range(group["incidence"]),
                "valid per CPU-s median": round(float(group["valid_per_cpu_second"].median())),
                "ORACLE (unseen)": oracle.get(env, float("nan")),
            }
        )
    per_environment = args.results / "training" / "per-environment"
    for folder in sorted(per_environment.glob("*")):
        own = seed_tables(folder)
        # Its own environment only: the run also scores the other held-out environments.
        own = own[own["env"] == folder.name]
        rows.append(
            {
                "env": folder.name,
                "split": "per-environment generator",
                "steady_states": "unseen",
                "seeds": own["seed"].nunique(),
                "incidence median (range)": median_range(
                    own.loc[own["steady_states"] == "unseen", "incidence"]
                ),
                "valid per CPU-s median": round(float(own["valid_per_cpu_second"].median())),
                "ORACLE (unseen)": oracle.get(folder.name, float("nan")),
            }
        )
    print(pd.DataFrame(rows).to_string(index=False))
    unseen = table[(table["split"] == "train") & (table["steady_states"] == "unseen")]
    worst = unseen.groupby("seed")["incidence"].min()
    print(
        f"\nworst training environment on unseen steady states, per seed: "
        f"{', '.join(f'{v:.3f}' for v in worst)}; median {median_range(worst)}"
    )


if __name__ == "__main__":
    main()
