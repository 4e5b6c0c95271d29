"""Wall time of each workflow stage, from the benchmark files Snakemake wrote.

Run after the workflow (``make run``):

    python benchmarks/workflow_stages.py [results]

Prints seconds per rule and environment, the total of the thermodynamic stage
(reaction_energies + tfa + sample_steady_states) and the sampling throughput in samples per
second of the sampling rule's wall time (which includes loading the model and solving the
reference TFA problem).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from kinetigen.io import read_parquet

THERMO_STAGE = ("reaction_energies", "tfa", "sample_steady_states")


def stage_times(results: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        relative = tsv.relative_to(results / "benchmarks").with_suffix("")
        rule, _, env = str(relative).partition("/")
        seconds = float(pd.read_csv(tsv, sep="\t")["s"].iloc[-1])
        rows.append({"rule": rule, "env": env or "-", "seconds": seconds})
    return pd.DataFrame(rows, columns=["rule", "env", "seconds"])


def main(results: Path) -> None:
    times = stage_times(results)
    if times.empty:
        raise SystemExit(f"no benchmark files under {results / 'benchmarks'}: run the workflow")
    print(times.to_string(index=False))
    thermo = times[times["rule"].isin(THERMO_STAGE)]
    print(f"\nthermodynamic stage, summed over jobs: {thermo['seconds'].sum():.1f} s")
    for path in sorted((results / "envs").glob("*/steady_states.parquet")):
        env = path.parent.name
        n = len(read_parquet(path, columns=[]))
        row = times[(times["rule"] == "sample_steady_states") & (times["env"] == env)]
        if not row.empty:
            seconds = float(row["seconds"].iloc[0])
            print(f"{env}: {n} samples in {seconds:.1f} s = {n / seconds:.1f} samples/s")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results"))
