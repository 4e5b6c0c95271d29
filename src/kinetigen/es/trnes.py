"""Trust-region natural evolution strategy (ours), DESIGN.md 2.5.

Search distribution N(mu, diag sigma^2) over the flat generator weights. One generation:

1. Draw ``population_size / 2`` antithetic pairs mu +- sigma * s and score all members on the
   same latent batch and steady states (common random numbers), in one batched call.
2. Rank utilities per objective (environment), averaged over objectives.
3. SNES natural gradients: dmu = eta_mu * sigma * sum u_k s_k,
   dlog sigma = eta_sigma / 2 * sum u_k (s_k^2 - 1).
4. KL trust region between successive distributions, KL(new || old) = mean part + sigma part:
   the mean step is projected exactly onto 0.5 sum(dmu^2 / sigma^2) <= radius * kl_mean * D;
   the sigma factors are capped to [0.8, 1.2] and their step length bisected so that
   0.5 sum(r^2 - 1 - 2 ln r) <= radius * kl_sigma * D.
5. Paired acceptance test: the old and the new centre are scored on a fresh held-out batch
   (same z and steady states for both). The new centre is accepted unless the mean paired
   difference of per-model scores is significantly negative (mean < -acceptance_k * stderr),
   over all environments or (by default) in any one environment.
   Rejection keeps the old mean and shrinks the radius; a clear gain (mean > growth_k * stderr)
   grows it; the radius stays in [radius_min, radius_max]. The sigma update is kept either
   way: it is already bounded by its own budget and caps, and the test measures the centre.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from kinetigen.es.base import EvolutionStrategy, centre_statistics, sigma_statistics
from kinetigen.es.problem import EvaluationResult, GeneratorProblem
from kinetigen.es.utilities import combined_utilities, limit_sigma_step, project_mean_step
from kinetigen.settings import TRNESSettings

logger = logging.getLogger(__name__)


class TrustRegionNES(EvolutionStrategy):
    """Trust-region separable NES over flat weights.

    Parameters
    ----------
    initial_mean
        Starting centre [D] (e.g. the generator's seeded initial weights).
    seed
        Seeds the population noise and the training / held-out batches.
    settings, options
        :class:`kinetigen.settings.TRNESSettings` (config ``training.trnes``; None: the
        schema's defaults) and keyword options on top of it, the keys below:
    population_size
        Even number of members per generation (antithetic pairs).
    sigma0
        Initial search standard deviation per weight.
    eta_mean, eta_sigma
        Natural-gradient learning rates; ``eta_sigma=None`` takes SNES's (3 + ln D)/(5 sqrt D).
    kl_mean_per_weight, kl_sigma_per_weight
        Trust-region budgets per weight at radius 1 (budget = radius * value * D).
    radius, radius_min, radius_max, radius_shrink, radius_grow
        Trust-region radius: initial value, bounds, factor on rejection, factor on clear gains.
    sigma_factor_min, sigma_factor_max
        Caps on the per-generation change of every sigma.
    acceptance_models
        Models per environment in the held-out acceptance batch (None: the problem's B).
    acceptance_k, growth_k
        Reject if mean paired difference < -acceptance_k * stderr; grow the radius if it is
        > growth_k * stderr.
    acceptance_per_objective
        Also reject if any single objective (environment) is significantly worse by the same
        test, so gains in easy environments cannot pay for a loss in a hard one.
    """

    name = "trnes"

    def __init__(
        self,
        initial_mean: Tensor,
        seed: int = 0,
        settings: TRNESSettings | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(seed)
        settings = TRNESSettings.of(settings, **options)  # schema defaults, checks
        self.mean = initial_mean.detach().to(torch.float64).flatten().clone()
        n_weights = self.mean.numel()
        self.sigma = torch.full_like(self.mean, settings.sigma0)
        self.population_size = settings.population_size
        self.eta_mean = settings.eta_mean
        self.eta_sigma = (
            (3.0 + math.log(n_weights)) / (5.0 * math.sqrt(n_weights))
            if settings.eta_sigma is None
            else settings.eta_sigma
        )
        # Copied: the search moves the radius; the other values stay as configured.
        for name in (
            "kl_mean_per_weight", "kl_sigma_per_weight", "radius", "radius_min", "radius_max",
            "radius_shrink", "radius_grow", "sigma_factor_min", "sigma_factor_max",
            "acceptance_models", "acceptance_k", "growth_k", "acceptance_per_objective",
        ):
            setattr(self, name, getattr(settings, name))

    @property
    def n_weights(self) -> int:
        return self.mean.numel()

    def centre(self) -> Tensor:
        return self.mean.clone()

    def ask(self) -> tuple[Tensor, Tensor]:
        """Population [pop, D] and its standard-normal directions s [pop, D] (+s then -s)."""
        half = torch.randn(
            self.population_size // 2,
            self.n_weights,
            generator=self.streams["noise"],
            dtype=torch.float64,
        )
        directions = torch.cat([half, -half])
        return self.mean + self.sigma * directions, directions

    def propose(self, directions: Tensor, fitness: Tensor) -> dict[str, Any]:
        """Trust-region-limited candidate (mean step, sigma factors) from scored directions."""
        utilities = combined_utilities(fitness)
        mean_gradient = utilities @ directions
        log_sigma_gradient = utilities @ (directions**2 - 1.0)
        mean_step = self.eta_mean * self.sigma * mean_gradient
        mean_budget = self.radius * self.kl_mean_per_weight * self.n_weights
        mean_step, kl_mean = project_mean_step(mean_step, self.sigma, mean_budget)
        sigma_budget = self.radius * self.kl_sigma_per_weight * self.n_weights
        factors, kl_sigma, sigma_step_fraction = limit_sigma_step(
            0.5 * self.eta_sigma * log_sigma_gradient,
            sigma_budget,
            self.sigma_factor_min,
            self.sigma_factor_max,
        )
        return {
            "mean_step": mean_step,
            "sigma_factors": factors,
            "kl_mean": kl_mean,
            "kl_sigma": kl_sigma,
            "kl_mean_budget": mean_budget,
            "kl_sigma_budget": sigma_budget,
            "sigma_step_fraction": sigma_step_fraction,
        }

    def step(self, problem: GeneratorProblem) -> dict[str, Any]:
        if problem.n_weights != self.n_weights:
            raise ValueError(f"problem has {problem.n_weights} weights, optimiser {self.n_weights}")
        batch = problem.sample_batch(self.streams["batch"])
        members, directions = self.ask()
        population = problem.evaluate(members, batch)
        proposal = self.propose(directions, population.fitness)

        candidate = self.mean + proposal["mean_step"]
        accepted, mean_difference, stderr, pair = self.acceptance_test(problem, candidate)
        radius_before = self.radius
        self.update_radius(accepted, mean_difference, stderr)
        if accepted:
            self.mean = candidate
        self.sigma = self.sigma * proposal["sigma_factors"]
        self.generation += 1

        info: dict[str, Any] = {
            "model_evaluations": population.n_model_evaluations + pair.n_model_evaluations,
            "accepted": bool(accepted),
            "kl_mean": proposal["kl_mean"] if accepted else 0.0,
            "kl_sigma": proposal["kl_sigma"],
            "kl_mean_proposed": proposal["kl_mean"],
            "kl_mean_budget": proposal["kl_mean_budget"],
            "kl_sigma_budget": proposal["kl_sigma_budget"],
            "radius": radius_before,
            "paired_difference": mean_difference,
            "paired_stderr": stderr,
            "population_incidence_mean": population.incidence.mean(0).tolist(),
            **sigma_statistics(self.sigma),
            **centre_statistics(pair, row=1 if accepted else 0),
        }
        logger.debug(
            "trnes gen %d: accepted=%s diff=%.4f se=%.4f radius=%.3g",
            self.generation,
            accepted,
            mean_difference,
            stderr,
            self.radius,
        )
        return info

    def acceptance_test(
        self, problem: GeneratorProblem, candidate: Tensor
    ) -> tuple[bool, float, float, EvaluationResult]:
        """Paired test of ``candidate`` against the current mean on a fresh held-out batch.

        Returns (accepted, mean paired difference, its stderr, the evaluation [old, new]).
        """
        heldout = problem.sample_batch(self.streams["heldout"], self.acceptance_models)
        pair = problem.evaluate(torch.stack([self.mean, candidate]), heldout)
        new_scores, old_scores = pair.model_scores[1], pair.model_scores[0]
        mean_difference, stderr = paired_difference(new_scores, old_scores)
        accepted = mean_difference >= -self.acceptance_k * stderr
        if self.acceptance_per_objective:
            for k in range(new_scores.shape[0]):
                mean_k, stderr_k = paired_difference(new_scores[k : k + 1], old_scores[k : k + 1])
                accepted = accepted and mean_k >= -self.acceptance_k * stderr_k
        return bool(accepted), mean_difference, stderr, pair

    def update_radius(self, accepted: bool, mean_difference: float, stderr: float) -> None:
        """Shrink on rejection; grow on a clear gain (> growth_k * stderr); clip to bounds."""
        if not accepted:
            self.radius = max(self.radius_min, self.radius * self.radius_shrink)
        elif mean_difference > self.growth_k * stderr and mean_difference > 0:
            self.radius = min(self.radius_max, self.radius * self.radius_grow)

    def _algorithm_state(self) -> dict[str, Any]:
        return {
            "mean": self.mean.clone(),
            "sigma": self.sigma.clone(),
            "radius": self.radius,
        }

    def _load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.mean = state["mean"].clone()
        self.sigma = state["sigma"].clone()
        self.radius = float(state["radius"])


def paired_difference(new_scores: Tensor, old_scores: Tensor) -> tuple[float, float]:
    """Mean and standard error of paired per-model differences, averaged over objectives.

    Scores are [K, B]. Each objective gets its own mean and stderr (ddof 1); the combined mean
    is their average and its stderr sqrt(sum se_k^2) / K (objectives are independent batches).
    """
    difference = (new_scores - old_scores).to(torch.float64)
    n_models = difference.shape[-1]
    means = difference.mean(dim=-1)
    errors = difference.std(dim=-1, correction=1) / math.sqrt(n_models)
    n_objectives = means.numel()
    return float(means.mean()), float(torch.sqrt(torch.sum(errors**2)) / n_objectives)
