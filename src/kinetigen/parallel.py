"""One process pool for ensembles of independent tasks that share one large object.

The validation stages integrate many models of the same kinetic model. Sending that model with
every task would pickle it once per task; :func:`map_tasks` sends it once per worker instead,
through the pool's initializer, and each task carries only what differs (a steady-state
position, a parameter set, a seed). Workers fork where the platform allows it (no pickling at
all) and spawn elsewhere. Results come back in task order, so a run's outputs do not depend on
the number of processes.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

Shared = TypeVar("Shared")
Task = TypeVar("Task")
Result = TypeVar("Result")

# The object shared by every task of this worker process (set by _install_shared).
_shared: Any = None


def _install_shared(function: Callable[..., Any], shared: Any) -> None:
    global _shared
    _shared = (function, shared)


def _run_in_worker(task: Any) -> Any:
    function, shared = _shared
    return function(shared, task)


def pool_context() -> multiprocessing.context.BaseContext:
    """Fork where available (workers inherit the shared object), spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def map_tasks(
    function: Callable[[Shared, Task], Result],
    shared: Shared,
    tasks: Sequence[Task],
    processes: int = 1,
    chunksize: int = 1,
    on_result: Callable[[int, Result], None] | None = None,
) -> list[Result]:
    """``[function(shared, task) for task in tasks]``, in ``processes`` worker processes.

    ``shared`` reaches each worker once (pool initializer); ``function`` must be a module-level
    function so that spawned workers can import it. With one process, or one task, everything
    runs in this process. ``on_result(done, result)`` is called in this process after each
    result, in task order (progress logs).
    """
    results: list[Result] = []
    outcomes: Iterable[Result]
    if processes > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(
            processes,
            mp_context=pool_context(),
            initializer=_install_shared,
            initargs=(function, shared),
        ) as pool:
            outcomes = pool.map(_run_in_worker, tasks, chunksize=chunksize)
            _collect(outcomes, results, on_result)
    else:
        _collect((function(shared, task) for task in tasks), results, on_result)
    return results


def _collect(
    outcomes: Iterable[Result],
    results: list[Result],
    on_result: Callable[[int, Result], None] | None,
) -> None:
    for result in outcomes:
        results.append(result)
        if on_result is not None:
            on_result(len(results), result)


def log_progress(
    logger: logging.Logger, what: str, done: int, total: int, steps: int = 20
) -> None:
    """Log ``what: done/total models done`` about ``steps`` times over a run, and at the end."""
    if done == total or done % max(1, total // steps) == 0:
        logger.info("%s %d/%d models done", what, done, total)
