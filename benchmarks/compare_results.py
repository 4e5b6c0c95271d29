"""Compare two workflow results folders exactly: same files, same numbers.

    python benchmarks/compare_results.py BEFORE/results AFTER/results

Compares every .csv, .parquet and .json file (and .xml and .pt files: SBML text, torch
payloads) that either folder holds, value by value with no tolerance. Columns and keys that
measure wall-clock time (names containing "second" or "wall", or ending in "_s") are left out,
as are logs, Snakemake benchmarks (.tsv) and figures, and in checkpoints the process-wide RNG
states (key ``rng``: torch's and numpy's global generators, seeded from OS entropy; no result
depends on them). Prints one line per differing file and column or key, then a verdict; exits
1 on any difference, 0 when the folders agree.

Run both workflows with the same ``PYTHONHASHSEED`` (the Snakefile sets 0 unless one is
exported): cobra's FBA through optlang's hybrid interface orders its columns by hash, which
moves the FBA optimum in its last digits.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kinetigen.io import read_parquet

COMPARED = (".csv", ".parquet", ".json", ".xml", ".pt")
TIMING = re.compile(r"second|wall|(^|_)s$")


def is_timing(name: Any) -> bool:
    """Whether a column or key holds a wall-clock time (differs from run to run)."""
    return bool(TIMING.search(str(name)))


def result_files(folder: Path) -> set[str]:
    """Compared files under ``folder``, relative to it (logs and benchmarks left out)."""
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix in COMPARED
        and not {"logs", "benchmarks"} & set(path.relative_to(folder).parts[:-1])
    }


def _same_values(a: pd.Series, b: pd.Series) -> bool:
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        x, y = a.to_numpy(), b.to_numpy()
        return bool(np.array_equal(x, y, equal_nan=True))
    return bool(a.astype(object).equals(b.astype(object)))


def compare_tables(a: pd.DataFrame, b: pd.DataFrame) -> Iterator[str]:
    """Differences between two tables: columns, row count, index, then column by column."""
    columns_a = [c for c in a.columns if not is_timing(c)]
    columns_b = [c for c in b.columns if not is_timing(c)]
    if columns_a != columns_b:
        only_a = [c for c in columns_a if c not in columns_b]
        only_b = [c for c in columns_b if c not in columns_a]
        yield f"columns differ (only before: {only_a[:5]}, only after: {only_b[:5]})"
    if len(a) != len(b):
        yield f"rows differ: {len(a)} vs {len(b)}"
        return
    if not a.index.equals(b.index):
        yield "index differs"
    for column in columns_a:
        if column in columns_b and not _same_values(a[column], b[column]):
            x, y = a[column].to_numpy(), b[column].to_numpy()
            changed = int(sum(1 for p, q in zip(x, y, strict=True) if not _equal_scalar(p, q)))
            yield f"column {column!r}: {changed} of {len(a)} values differ"


def _equal_scalar(p: Any, q: Any) -> bool:
    if isinstance(p, float) and isinstance(q, float) and np.isnan(p) and np.isnan(q):
        return True
    return bool(p == q) if not isinstance(p, np.ndarray) else bool(np.array_equal(p, q))


def compare_objects(a: Any, b: Any, where: str = "") -> Iterator[str]:
    """Differences between two JSON-like (or torch) objects, by key path."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys_a = {k for k in a if not is_timing(k)}
        keys_b = {k for k in b if not is_timing(k)}
        for key in sorted(keys_a ^ keys_b, key=str):
            yield f"key {where}{key}: only {'before' if key in keys_a else 'after'}"
        for key in sorted(keys_a & keys_b, key=str):
            yield from compare_objects(a[key], b[key], f"{where}{key}.")
        return
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            yield f"key {where.rstrip('.') or '(top)'}: lengths {len(a)} vs {len(b)}"
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from compare_objects(x, y, f"{where}{i}.")
        return
    if _is_tensor(a) and _is_tensor(b):
        same = a.shape == b.shape and a.dtype == b.dtype
        if not (same and bool(((a == b) | (a.isnan() & b.isnan())).all())):
            yield f"key {where.rstrip('.')}: tensors differ"
        return
    if not _equal_scalar(a, b):
        yield f"key {where.rstrip('.') or '(top)'}: {a!r} vs {b!r}"


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "shape")


def _load(path: Path) -> Any:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return read_parquet(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    if path.suffix == ".pt":
        import torch

        return torch.load(path, map_location="cpu", weights_only=False)
    return path.read_text()


# Keys of torch payloads that hold process-wide, unseeded state.
UNSEEDED_KEYS = ("rng",)


def compare_file(before: Path, after: Path) -> list[str]:
    a, b = _load(before), _load(after)
    if before.suffix == ".pt" and isinstance(a, dict) and isinstance(b, dict):
        a = {k: v for k, v in a.items() if k not in UNSEEDED_KEYS}
        b = {k: v for k, v in b.items() if k not in UNSEEDED_KEYS}
    if isinstance(a, pd.DataFrame):
        return list(compare_tables(a, b))
    if isinstance(a, str):
        return [] if a == b else ["text differs"]
    return list(compare_objects(a, b))


def compare_folders(before: Path, after: Path) -> list[str]:
    """Every difference between two results folders, one line each."""
    files_a, files_b = result_files(before), result_files(after)
    lines = [f"{name}: only in {before}" for name in sorted(files_a - files_b)]
    lines += [f"{name}: only in {after}" for name in sorted(files_b - files_a)]
    for name in sorted(files_a & files_b):
        lines += [f"{name}: {line}" for line in compare_file(before / name, after / name)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="results folder of the reference run")
    parser.add_argument("after", type=Path, help="results folder of the run to check")
    args = parser.parse_args(argv)
    differences = compare_folders(args.before, args.after)
    for line in differences:
        print(line)
    n_files = len(result_files(args.before) | result_files(args.after))
    if differences:
        print(f"DIFFERENT: {len(differences)} difference(s) over {n_files} files")
        return 1
    print(f"IDENTICAL: {n_files} files (timing columns and keys left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
