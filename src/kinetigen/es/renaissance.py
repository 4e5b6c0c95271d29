"""RENAISSANCE's optimiser (Choudhury et al., Nature Catalysis 2024), reproduced as the baseline.

One generation with N = 20 members, noise sigma = 0.01, learning rate lr_g = 1e-3 * 0.95^g:

    eps_i ~ N(0, I),  w_i = w + sigma * eps_i          (no antithetic pairs)
    R_i   = reward of w_i (incidence over 100 models)
    A_i   = (R_i - mean R) / std R                     (population std, ddof 0)
    w    <- w + lr_g / (N * sigma) * sum_i eps_i A_i

and the centre is re-scored on a fresh batch every generation. With several objectives
(environments) the reward is their mean. A generation whose rewards all tie (std 0) makes no
step; the original divides by zero there.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from kinetigen.es.base import EvolutionStrategy, centre_statistics, sigma_statistics
from kinetigen.es.problem import GeneratorProblem
from kinetigen.es.utilities import kl_mean_part


class RenaissanceES(EvolutionStrategy):
    """Plain ES with z-scored rewards and a decaying learning rate.

    Parameters
    ----------
    initial_weights
        Starting weights [D].
    seed
        Seeds the noise and the batches.
    population_size, sigma, learning_rate, decay
        RENAISSANCE's values: 20, 0.01, 1e-3, 0.95.
    use_tie_breaker
        False (RENAISSANCE): the reward is the incidence alone; True adds the problem's smooth
        tie-breaker.
    centre_models
        Models per environment when re-scoring the centre (None: the problem's B).
    """

    name = "renaissance"

    def __init__(
        self,
        initial_weights: Tensor,
        seed: int = 0,
        population_size: int = 20,
        sigma: float = 0.01,
        learning_rate: float = 1e-3,
        decay: float = 0.95,
        use_tie_breaker: bool = False,
        centre_models: int | None = None,
    ) -> None:
        super().__init__(seed)
        if population_size < 2:
            raise ValueError(
                f"config key training.renaissance.population_size must be >= 2, "
                f"got {population_size}"
            )
        if sigma <= 0 or learning_rate <= 0 or not 0 < decay <= 1:
            raise ValueError(
                "config keys training.renaissance.{sigma, learning_rate} must be > 0 and "
                "decay in (0, 1]"
            )
        self.weights = initial_weights.detach().to(torch.float64).flatten().clone()
        self.population_size = int(population_size)
        self.sigma = float(sigma)
        self.initial_learning_rate = float(learning_rate)
        self.decay = float(decay)
        self.use_tie_breaker = bool(use_tie_breaker)
        self.centre_models = centre_models

    @property
    def learning_rate(self) -> float:
        """Learning rate of the next generation: lr * decay^generation."""
        return self.initial_learning_rate * self.decay**self.generation

    def centre(self) -> Tensor:
        return self.weights.clone()

    def ask(self) -> tuple[Tensor, Tensor]:
        """Population [N, D] and its noise eps [N, D]."""
        noise = torch.randn(
            self.population_size,
            self.weights.numel(),
            generator=self.streams["noise"],
            dtype=torch.float64,
        )
        return self.weights + self.sigma * noise, noise

    def update(self, noise: Tensor, rewards: Tensor) -> Tensor:
        """Weight step lr / (N sigma) * sum eps_i A_i for rewards [N]; returns the step."""
        spread = rewards.std(correction=0)
        if float(spread) > 0:
            advantages = (rewards - rewards.mean()) / spread
        else:
            advantages = torch.zeros_like(rewards)
        step = self.learning_rate / (self.population_size * self.sigma) * (noise.T @ advantages)
        self.weights = self.weights + step
        return step

    def step(self, problem: GeneratorProblem) -> dict[str, Any]:
        batch = problem.sample_batch(self.streams["batch"])
        members, noise = self.ask()
        population = problem.evaluate(members, batch)
        scores = population.fitness if self.use_tie_breaker else population.objective_incidence
        learning_rate = self.learning_rate
        step = self.update(noise, scores.mean(dim=1))
        self.generation += 1
        centre_batch = problem.sample_batch(self.streams["heldout"], self.centre_models)
        centre = problem.evaluate(self.weights, centre_batch)
        sigma = torch.full((1,), self.sigma, dtype=torch.float64)
        return {
            "model_evaluations": population.n_model_evaluations + centre.n_model_evaluations,
            "accepted": True,
            # The same KL as for TR-NES, with this method's fixed sigma: how far it moved.
            "kl_mean": kl_mean_part(step, sigma),
            "kl_sigma": 0.0,
            "radius": float("nan"),
            "learning_rate": learning_rate,
            "population_incidence_mean": population.incidence.mean(0).tolist(),
            **sigma_statistics(sigma),
            **centre_statistics(centre),
        }

    def _algorithm_state(self) -> dict[str, Any]:
        return {"weights": self.weights.clone()}

    def _load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.weights = state["weights"].clone()
