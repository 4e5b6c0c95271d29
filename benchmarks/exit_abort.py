"""How often does reading parquet outputs and exiting abort the interpreter?

    python benchmarks/exit_abort.py results/envs/*/steady_states.parquet [--runs 100]

Starts ``--runs`` fresh Python processes per reader; each reads every given file (no columns,
then all) and exits. ``threaded`` is pandas' default reader, as kinetigen read before
(Arrow's thread pools); ``kinetigen`` is :func:`kinetigen.io.read_parquet` (calling thread
only). An abort at exit shows as exit code 134 and "terminate called without an active
exception" on stderr (apache/arrow#34314). Prints the exit codes per reader. The rate depends
on load: measured on the 2-core VM with the default run's six tables, threaded 8 of 100
(loaded) and 1 of 100 (lighter load), kinetigen 0 of 100.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys

READERS = {
    "threaded": "import pandas as pd; read = pd.read_parquet",
    "kinetigen": "from kinetigen.io import read_parquet as read",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    for name, setup in READERS.items():
        code = (
            f"import sys; {setup}; [len(read(p, columns=[])) + len(read(p)) for p in sys.argv[1:]]"
        )
        codes: collections.Counter[int] = collections.Counter()
        aborts = 0
        for _ in range(args.runs):
            result = subprocess.run(
                [sys.executable, "-c", code, *args.files], capture_output=True, text=True
            )
            codes[result.returncode] += 1
            aborts += "terminate called" in result.stderr
        print(f"{name:10s} exit codes {dict(codes)}; 'terminate called' in {aborts} of {args.runs}")


if __name__ == "__main__":
    main()
