"""Separable CMA-ES (pycma, ``CMA_diagonal``): the classical anchor, in the same harness.

pycma minimises; it is told the negated combined rank utilities (per-environment ranks
averaged, as for TR-NES), so only the search algorithm differs between the methods. pycma
draws from numpy's global RNG; this wrapper swaps in its own saved numpy state around every
pycma call, so the run depends on its seed only and resumes exactly.
"""

from __future__ import annotations

import io
import math
import pickle
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import cma
import numpy as np
import torch
from torch import Tensor

from kinetigen.es.base import EvolutionStrategy, centre_statistics, sigma_statistics
from kinetigen.es.problem import GeneratorProblem
from kinetigen.es.utilities import combined_utilities, kl_mean_part
from kinetigen.settings import SepCMASettings

T = TypeVar("T")

_GLOBAL_NUMPY_RNG = "numpy-global-random-state"


class _PycmaPickler(pickle.Pickler):
    # pycma keeps np.random.randn, a bound method of numpy's global RandomState. A plain pickle
    # would copy that RandomState and the restored run would sample from the frozen copy, not
    # from the stream this wrapper swaps in; refer to the live global object instead.
    def persistent_id(self, obj: Any) -> str | None:
        return _GLOBAL_NUMPY_RNG if obj is np.random.mtrand._rand else None


class _PycmaUnpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid == _GLOBAL_NUMPY_RNG:
            return np.random.mtrand._rand
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r} in a pycma state")


# pycma's stopping rules are for converged minimisations; the training loop decides when to stop.
_NO_TERMINATION = {
    "tolfun": 0,
    "tolfunhist": 0,
    "tolfunrel": 0,
    "tolx": 0,
    "tolstagnation": 10**9,
    "tolflatfitness": 10**9,
    "maxiter": math.inf,
    "maxfevals": math.inf,
    "tolconditioncov": math.inf,
}


class SepCMA(EvolutionStrategy):
    """pycma ``CMAEvolutionStrategy`` with ``{'CMA_diagonal': True, 'seed': seed}``.

    Parameters
    ----------
    initial_weights
        Starting mean [D].
    seed
        pycma's seed; also seeds the batches.
    settings, values
        :class:`kinetigen.settings.SepCMASettings` (config ``training.sep-cma``; None: the
        schema's defaults) and keyword values on top of it: ``population_size`` (pycma
        ``popsize``) and ``sigma0`` (initial step size).
    centre_models
        Models per environment when re-scoring the centre (None: the problem's B).
    options
        Extra pycma options (override the defaults here).
    """

    name = "sep-cma"

    def __init__(
        self,
        initial_weights: Tensor,
        seed: int = 0,
        settings: SepCMASettings | Mapping[str, Any] | None = None,
        centre_models: int | None = None,
        options: dict[str, Any] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(seed)
        settings = SepCMASettings.of(settings, **values)  # schema defaults, checks
        self.population_size = settings.population_size
        self.centre_models = centre_models
        opts = {
            "CMA_diagonal": True,
            "seed": int(seed) + 1,  # pycma treats seed 0 as "seed from the clock"
            "popsize": self.population_size,
            "verbose": -9,
            **_NO_TERMINATION,
            **(options or {}),
        }
        initial = initial_weights.detach().to(torch.float64).flatten().numpy().copy()
        outside_state = np.random.get_state()
        try:
            self.es = cma.CMAEvolutionStrategy(initial, settings.sigma0, opts)
            self.numpy_state = np.random.get_state()
        finally:
            np.random.set_state(outside_state)

    @contextmanager
    def _own_numpy_rng(self):
        outside_state = np.random.get_state()
        np.random.set_state(self.numpy_state)
        try:
            yield
        finally:
            self.numpy_state = np.random.get_state()
            np.random.set_state(outside_state)

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        with self._own_numpy_rng():
            return function(*args)

    def centre(self) -> Tensor:
        return torch.as_tensor(np.array(self.es.mean, dtype=np.float64))

    def search_sigma(self) -> Tensor:
        """Per-weight standard deviation sigma * sqrt(diag C) of the search distribution."""
        return torch.as_tensor(self.es.sigma * np.asarray(self.es.sm.variances) ** 0.5)

    def step(self, problem: GeneratorProblem) -> dict[str, Any]:
        batch = problem.sample_batch(self.streams["batch"])
        solutions = self._call(self.es.ask)
        members = torch.as_tensor(np.stack(solutions), dtype=torch.float64)
        population = problem.evaluate(members, batch)
        utilities = combined_utilities(population.fitness)
        old_centre, old_sigma = self.centre(), self.search_sigma()
        self._call(self.es.tell, solutions, (-utilities).tolist())
        self.generation += 1
        new_centre = self.centre()
        centre_batch = problem.sample_batch(self.streams["heldout"], self.centre_models)
        centre = problem.evaluate(new_centre, centre_batch)
        sigma = self.search_sigma()
        return {
            "model_evaluations": population.n_model_evaluations + centre.n_model_evaluations,
            "accepted": True,
            "kl_mean": kl_mean_part(new_centre - old_centre, old_sigma),
            "kl_sigma": float(
                0.5 * torch.sum((sigma / old_sigma) ** 2 - 1 - 2 * torch.log(sigma / old_sigma))
            ),
            "radius": float("nan"),
            "population_incidence_mean": population.incidence.mean(0).tolist(),
            **sigma_statistics(sigma),
            **centre_statistics(centre),
        }

    def _algorithm_state(self) -> dict[str, Any]:
        # pycma's state is a Python object graph: store its pickle as a byte tensor so the
        # checkpoint itself still loads with torch.load(weights_only=True).
        buffer = io.BytesIO()
        _PycmaPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(self.es)
        pickled = buffer.getvalue()
        kind, keys, position, has_gauss, cached = self.numpy_state
        return {
            "pycma": torch.frombuffer(bytearray(pickled), dtype=torch.uint8).clone(),
            "numpy_state": {
                "kind": kind,
                "keys": torch.as_tensor(np.asarray(keys, dtype=np.int64)),
                "position": int(position),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            },
        }

    def _load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.es = _PycmaUnpickler(io.BytesIO(state["pycma"].numpy().tobytes())).load()
        numpy_state = state["numpy_state"]
        self.numpy_state = (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
