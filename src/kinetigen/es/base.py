"""Common interface of the search algorithms: ``step(problem) -> info``, a centre, a saveable state.

Each optimiser owns private random streams derived from its seed (population noise, training
batches, held-out / centre batches), so two runs with the same seed are identical whatever
else the process does with the global RNGs, and a checkpoint of ``state_dict()`` resumes the
run exactly.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np
import torch
from torch import Tensor

from kinetigen.es.problem import EvaluationResult, GeneratorProblem

STREAMS = ("noise", "batch", "heldout")


def make_streams(seed: int) -> dict[str, torch.Generator]:
    """Independent torch generators for the named streams, all derived from ``seed``."""
    states = np.random.SeedSequence(int(seed)).generate_state(len(STREAMS), dtype=np.uint64)
    return {
        name: torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)
        for name, state in zip(STREAMS, states, strict=True)
    }


def sigma_statistics(sigma: Tensor) -> dict[str, float]:
    return {
        "sigma_min": float(sigma.min()),
        "sigma_median": float(sigma.median()),
        "sigma_max": float(sigma.max()),
    }


def centre_statistics(result: EvaluationResult, row: int = 0) -> dict:
    """Per-environment and per-objective centre scores from one row of an evaluation."""
    return {
        "centre_incidence": result.incidence[row].tolist(),
        "centre_objective": result.objective_incidence[row].tolist(),
        "centre_fitness": result.fitness[row].tolist(),
    }


class EvolutionStrategy(abc.ABC):
    """Base class: subclasses implement :meth:`step`, :meth:`centre` and the state hooks."""

    name: str = "abstract"

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.generation = 0
        self.streams = make_streams(seed)

    @abc.abstractmethod
    def step(self, problem: GeneratorProblem) -> dict[str, Any]:
        """Run one generation. Returns at least ``model_evaluations`` (spent in this step),
        ``accepted``, ``kl_mean``, ``kl_sigma``, sigma statistics, ``radius`` and the centre
        scores (``centre_incidence`` per environment, ``centre_objective`` per objective)."""

    @abc.abstractmethod
    def centre(self) -> Tensor:
        """Current best guess of the weights [D] (the search distribution's centre)."""

    @abc.abstractmethod
    def _algorithm_state(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def _load_algorithm_state(self, state: dict[str, Any]) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run (tensors, numbers, strings only)."""
        return {
            "name": self.name,
            "seed": self.seed,
            "generation": self.generation,
            "streams": {name: stream.get_state() for name, stream in self.streams.items()},
            "algorithm": self._algorithm_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["name"] != self.name:
            raise ValueError(f"optimiser state is for {state['name']!r}, not {self.name!r}")
        self.seed = int(state["seed"])
        self.generation = int(state["generation"])
        for name, stream_state in state["streams"].items():
            self.streams[name].set_state(stream_state)
        self._load_algorithm_state(state["algorithm"])
