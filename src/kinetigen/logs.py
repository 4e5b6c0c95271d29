"""Logging set-up shared by the workflow scripts: every rule writes its own log file.

The log file gets everything a rule would print: kinetigen's records, Python warnings
(``RuntimeWarning: invalid value encountered in log`` and the like, through
:func:`logging.captureWarnings`) and the traceback of an uncaught exception, headed by the
rule that failed (on SLURM, stderr is often lost; the log Snakemake points to is not).
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType


def _rule_name() -> str | None:
    """The running Snakemake rule (and wildcards), from the ``snakemake`` object Snakemake
    puts into a script's globals; None outside a rule."""
    smk = getattr(sys.modules.get("__main__"), "snakemake", None)
    rule = getattr(smk, "rule", None)
    if not rule:
        return None
    wildcards = dict(getattr(smk, "wildcards", {}) or {})
    shown = ", ".join(f"{key}={value}" for key, value in wildcards.items())
    return f"{rule} ({shown})" if shown else str(rule)


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    rule = _rule_name()
    where = f"rule {rule}" if rule else "kinetigen"
    text = "".join(traceback.format_exception(kind, error, trace))
    logging.getLogger("kinetigen").critical(
        "%s failed: %s: %s\n%s", where, kind.__name__, error, text.rstrip()
    )
    for handler in logging.getLogger().handlers:
        handler.flush()


def setup_logging(log_file: str | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send kinetigen's log records, warnings and uncaught exceptions to ``log_file`` (and
    stderr) with timestamps."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    return logging.getLogger("kinetigen")
