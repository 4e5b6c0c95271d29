"""Atomic writers: a killed job never leaves a half-written output behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _write_with(path: str | os.PathLike, writer: Callable[[Path], Any]) -> None:
    with atomic_path(path) as tmp:
        writer(tmp)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, index: bool = False) -> None:
    _write_with(path, lambda tmp: frame.to_csv(tmp, index=index))


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    _write_with(path, lambda tmp: frame.to_parquet(tmp))


def write_json(data: Any, path: str | os.PathLike) -> None:
    def dump(tmp: Path) -> None:
        with open(tmp, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=False, default=_json_default)
            handle.write("\n")

    _write_with(path, dump)


def write_text(text: str, path: str | os.PathLike) -> None:
    _write_with(path, lambda tmp: Path(tmp).write_text(text))


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays appear in summaries; json does not know them.
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
