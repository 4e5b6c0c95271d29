"""The one process pool: results in task order, the shared object sent once per worker."""

from __future__ import annotations

import os

import pytest

from kinetigen.parallel import map_tasks


def scaled(shared: dict, task: int) -> tuple[int, int]:
    # Module level, so that spawned workers could import it too.
    return shared["factor"] * task, os.getpid()


@pytest.mark.parametrize("processes", [1, 2])
def test_results_come_back_in_task_order(processes):
    seen = []
    results = map_tasks(
        scaled,
        {"factor": 3},
        list(range(7)),
        processes,
        chunksize=2,
        on_result=lambda done, result: seen.append(done),
    )
    assert [value for value, _ in results] == [3 * task for task in range(7)]
    assert seen == list(range(1, 8))
    workers = {pid for _, pid in results}
    assert (workers == {os.getpid()}) == (processes == 1)


def test_one_task_runs_here():
    assert map_tasks(scaled, {"factor": 2}, [5], processes=4) == [(10, os.getpid())]
