"""The training methods: the one list that the workflow, the scripts and the library read.

Kept free of heavy imports (no torch) so that the Snakefile can read it while it parses.
:data:`kinetigen.es.training.OPTIMIZERS` maps each name to its optimiser class, and the
config schema's method enums name the same methods (tests keep them in step).
"""

from __future__ import annotations

# Ours first (the default), then RENAISSANCE's update with its and with our reward, then the
# classical anchor.
METHODS: tuple[str, ...] = ("trnes", "renaissance", "renaissance-ours", "sep-cma")
DEFAULT_METHOD = METHODS[0]


def check_method(method: str) -> str:
    """``method`` if it is a known training method, else a ValueError naming the choices."""
    if method not in METHODS:
        raise ValueError(f"unknown training method {method!r}; choose one of {sorted(METHODS)}")
    return method
