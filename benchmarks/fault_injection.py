"""Fault injection: kill each long rule once mid-run, rerun, compare with an uninterrupted run.

    PYTHONHASHSEED=0 python benchmarks/fault_injection.py [--workdir DIR] [--cores 2]

On ``tests/data/tiny_config.yaml``, in two fresh folders:

1. ``reference``: one uninterrupted ``snakemake`` run.
2. ``faulty``: for each long rule in turn (``LONG_RULES``), ``snakemake`` is started, and once
   that rule's script has run for ``--fraction`` of its wall time in the reference run (from
   its benchmark file; at least ``--min-delay`` seconds) the whole Snakemake process group is
   killed with SIGKILL, as a node failure or an out-of-memory kill would. The next round runs
   ``snakemake --unlock`` and then ``snakemake`` again (the default profile's
   ``rerun-incomplete`` restarts the interrupted job), as the README tells users to.
3. A last run completes ``faulty``; ``benchmarks/compare_results.py`` then compares the two
   results folders value by value. Exit status 0 when they agree and every run completed.

Both folders run with ``PYTHONHASHSEED=0`` (set here for the children), since cobra's FBA
through optlang's hybrid interface orders its columns by hash.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[1]
# rule -> the script its job runs (Snakemake copies it to .snakemake/scripts/tmp*.<name>).
LONG_RULES = {
    "reaction_energies": "reaction_energies.py",
    "tfa": "tfa.py",
    "sample_steady_states": "sample_steady_states.py",
    "attainability": "attainability.py",
    "oracle_baseline": "oracle_baseline.py",
    "train": "train.py",
    "evaluate_generator": "evaluate_generator.py",
    "perturbation_tests": "perturbation_tests.py",
    "bioreactor": "bioreactor.py",
}


def _environment() -> dict[str, str]:
    return dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def _command(cores: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--workflow-profile", str(REPO / "workflow" / "profiles" / "default"),
        "--cores", str(cores), *extra,
    ]


def _prepare(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "data" / "tiny_config.yaml", folder / "config.yaml")
    return folder


def _run(folder: Path, cores: int, *extra: str) -> int:
    with open(folder / "snakemake.log", "a") as log:
        return subprocess.run(
            _command(cores, *extra), cwd=folder, env=_environment(), stdout=log, stderr=log
        ).returncode


def _rule_seconds(results: Path) -> dict[str, float]:
    """The longest job of each rule in the reference run (seconds, benchmark files)."""
    seconds: dict[str, float] = {}
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        rule = tsv.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        value = float(pd.read_csv(tsv, sep="\t")["s"].iloc[-1])
        seconds[rule] = max(seconds.get(rule, 0.0), value)
    return seconds


def _script_started(folder: Path, script: str) -> float | None:
    """Start time of a running job of ``script`` under ``folder`` (None if none runs)."""
    for process in psutil.process_iter(["cmdline", "cwd", "create_time"]):
        cmdline = process.info["cmdline"] or []
        if process.info["cwd"] == str(folder) and any(
            ".snakemake/scripts/" in part and part.endswith("." + script) for part in cmdline
        ):
            return process.info["create_time"]
    return None


def _kill_during(folder: Path, cores: int, rule: str, delay: float, timeout: float) -> str:
    """Run snakemake until ``rule``'s script has run ``delay`` s, then SIGKILL it all."""
    with open(folder / "snakemake.log", "a") as log:
        process = subprocess.Popen(
            _command(cores), cwd=folder, env=_environment(), stdout=log, stderr=log,
            start_new_session=True,
        )
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if process.poll() is not None:
                return f"finished (rc {process.returncode}) before {rule} could be killed"
            started = _script_started(folder, LONG_RULES[rule])
            if started is not None and time.time() - started >= delay:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return f"killed after {time.time() - started:.1f} s"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return "timed out waiting for the rule"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("fault_injection"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--min-delay", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    workdir = args.workdir.resolve()

    reference = _prepare(workdir / "reference")
    started = time.time()
    if _run(reference, args.cores) != 0:
        print(f"reference run failed: see {reference / 'snakemake.log'}")
        return 1
    print(f"reference run: {time.time() - started:.0f} s")
    seconds = _rule_seconds(reference / "results")

    faulty = _prepare(workdir / "faulty")
    for rule in LONG_RULES:
        delay = max(args.min_delay, args.fraction * seconds.get(rule, 0.0))
        _run(faulty, args.cores, "--unlock")
        outcome = _kill_during(faulty, args.cores, rule, delay, args.timeout)
        print(f"{rule}: {outcome}", flush=True)
    _run(faulty, args.cores, "--unlock")
    rc = _run(faulty, args.cores)
    print(f"final rerun: rc {rc}")
    leftovers = sorted(str(p.relative_to(faulty)) for p in (faulty / "results").rglob(".*.tmp"))
    if leftovers:
        print(f"temporary files left behind: {leftovers}")
    compared = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "compare_results.py"),
         str(reference / "results"), str(faulty / "results")],
        capture_output=True, text=True,
    )
    print(compared.stdout.strip()[-3000:])
    return int(rc != 0 or compared.returncode != 0 or bool(leftovers))


if __name__ == "__main__":
    sys.exit(main())
