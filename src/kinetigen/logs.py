"""Logging set-up shared by the workflow scripts: every rule writes its own log file."""

from __future__ import annotations

import logging
import sys


def setup_logging(log_file: str | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send kinetigen's log records to ``log_file`` (and stderr) with timestamps."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    return logging.getLogger("kinetigen")
