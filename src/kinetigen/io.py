"""Atomic writers: a killed job never leaves a half-written output behind; readers that
name the file they could not read.

Outputs get the mode a plain ``open`` would give them (0666 less the umask), not the 0600 of a
temporary file, so others on a shared filesystem can read results. Temporary files a killed
job left behind (``.<name>.<random>.tmp``) are removed by the next write of the same output.
JSON is strict: NaN and infinity are written as ``null`` (the JSON standard has neither).
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


class InputFileError(OSError):
    """A file could not be read; the message names it."""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files an interrupted :func:`atomic_path` left next to ``path``."""
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.[A-Za-z0-9_]+\.tmp$")
    stale = [
        p for p in path.parent.glob(f".{glob.escape(path.name)}.*.tmp") if pattern.match(p.name)
    ]
    for candidate in stale:
        candidate.unlink(missing_ok=True)
    return stale


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
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
            json.dump(
                _finite(data), handle, indent=2, sort_keys=False, default=_json_default,
                allow_nan=False,
            )
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


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (numpy's included) replaced by None."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
        if isinstance(value, list):
            return _finite(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _read(path: str | os.PathLike, kind: str, reader: Callable[[], Any]) -> Any:
    try:
        return reader()
    except Exception as error:
        raise InputFileError(
            f"cannot read {kind} file {os.fspath(path)!r}: {type(error).__name__}: {error} "
            "(a truncated or corrupt file: delete it and rerun the rule that writes it)"
        ) from error


# Arrow's parquet reader hands work to its CPU and IO thread pools (column decoding,
# pre-buffering). A worker still alive when the interpreter exits meets the pools' static
# destructors: std::terminate, "terminate called without an active exception", exit 134
# after all work is done (apache/arrow#34314). Our tables are small: read them on the calling
# thread, so no pool thread is ever started.
SINGLE_THREADED_PARQUET = {"use_threads": False, "pre_buffer": False}


def read_parquet(path: str | os.PathLike, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_parquet`` on the calling thread only, whose errors name the file."""
    options = {**SINGLE_THREADED_PARQUET, **kwargs}
    return _read(path, "parquet", lambda: pd.read_parquet(path, **options))


def read_csv(path: str | os.PathLike, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` whose errors name the file."""
    return _read(path, "CSV", lambda: pd.read_csv(path, **kwargs))


def read_json(path: str | os.PathLike) -> Any:
    """JSON from ``path``; errors name the file."""
    return _read(path, "JSON", lambda: json.loads(Path(path).read_text()))
