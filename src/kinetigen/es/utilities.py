"""Pieces shared by the evolution strategies: rank utilities, KL terms, trust-region steps."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def rank_utilities(fitness: Tensor) -> Tensor:
    """NES rank utilities [pop] of a fitness vector [pop] (higher fitness is better).

    u_r = max(0, ln(n/2 + 1) - ln r) / sum - 1/n for rank r = 1..n (best first); they sum to 0.
    Tied fitness values share the mean utility of their ranks, so an all-tied population (e.g.
    every member at incidence 0) gives all-zero utilities and no spurious step.
    """
    if fitness.ndim != 1:
        raise ValueError(f"rank_utilities takes a vector, got shape {tuple(fitness.shape)}")
    n = fitness.numel()
    if bool(torch.all(fitness == fitness[0])):
        return torch.zeros(n, dtype=torch.float64)  # exactly no signal, exactly no step
    ranks = torch.arange(1, n + 1, dtype=torch.float64)
    raw = torch.clamp(math.log(n / 2 + 1) - torch.log(ranks), min=0.0)
    by_rank = raw / raw.sum() - 1.0 / n
    order = torch.argsort(fitness.to(torch.float64), descending=True, stable=True)
    utilities = torch.empty(n, dtype=torch.float64)
    utilities[order] = by_rank
    _, groups = torch.unique(fitness, return_inverse=True)
    group_sum = torch.zeros(int(groups.max()) + 1, dtype=torch.float64).index_add_(
        0, groups, utilities
    )
    group_size = torch.bincount(groups).to(torch.float64)
    return (group_sum / group_size)[groups]


def combined_utilities(fitness: Tensor) -> Tensor:
    """Rank utilities per objective column of ``fitness`` [pop, K], averaged over columns [pop].

    Ranking each environment separately means an easy environment cannot drown a hard one.
    """
    if fitness.ndim == 1:
        return rank_utilities(fitness)
    return torch.stack([rank_utilities(fitness[:, k]) for k in range(fitness.shape[1])]).mean(0)


def kl_mean_part(mean_step: Tensor, sigma: Tensor) -> float:
    """0.5 * sum(dmu^2 / sigma^2): the mean part of KL(new || old) of diagonal Gaussians."""
    return float(0.5 * torch.sum((mean_step / sigma) ** 2))


def kl_sigma_part(sigma_factor: Tensor) -> float:
    """0.5 * sum(r^2 - 1 - 2 ln r) with r = sigma_new / sigma_old: the sigma part of the KL."""
    log_factor = torch.log(sigma_factor)
    return float(0.5 * torch.sum(torch.expm1(2.0 * log_factor) - 2.0 * log_factor))


def project_mean_step(mean_step: Tensor, sigma: Tensor, budget: float) -> tuple[Tensor, float]:
    """Scale ``mean_step`` so that its Mahalanobis KL part is at most ``budget``.

    Exact projection onto the KL ball: a step inside it is returned unchanged; a step outside is
    scaled by sqrt(budget / KL), which meets the budget up to rounding; the scale is then nudged
    down ulp by ulp until rounding cannot put it above. Returns (step, its KL part).
    """
    if budget < 0:
        raise ValueError(f"KL budget must be >= 0, got {budget}")
    kl = kl_mean_part(mean_step, sigma)
    if kl <= budget:
        return mean_step, kl
    scale = math.sqrt(budget / kl)
    projected = mean_step * scale
    kl = kl_mean_part(projected, sigma)
    while kl > budget:
        scale = math.nextafter(scale, 0.0)
        projected = mean_step * scale
        kl = kl_mean_part(projected, sigma)
    return projected, kl


def limit_sigma_step(
    log_sigma_step: Tensor,
    budget: float,
    factor_min: float = 0.8,
    factor_max: float = 1.2,
    iterations: int = 60,
) -> tuple[Tensor, float, float]:
    """Per-weight sigma factors r for the proposed log-sigma step, within caps and KL budget.

    r = exp(clip(t * step, ln factor_min, ln factor_max)); the sigma KL part grows
    monotonically with t, so t = 1 is taken when it fits the budget and otherwise the largest
    t in [0, 1] that fits is found by bisection (keeping the feasible end of the bracket).
    Returns (factors, KL part, t).
    """
    if not 0.0 < factor_min <= 1.0 <= factor_max:
        raise ValueError(
            f"sigma caps must satisfy 0 < min <= 1 <= max, got {factor_min}, {factor_max}"
        )
    low_cap, high_cap = math.log(factor_min), math.log(factor_max)

    def factors_at(t: float) -> Tensor:
        return torch.exp(torch.clamp(t * log_sigma_step, low_cap, high_cap))

    factors = factors_at(1.0)
    kl = kl_sigma_part(factors)
    if kl <= budget:
        return factors, kl, 1.0
    feasible, infeasible = 0.0, 1.0
    for _ in range(iterations):
        middle = 0.5 * (feasible + infeasible)
        if kl_sigma_part(factors_at(middle)) <= budget:
            feasible = middle
        else:
            infeasible = middle
    factors = factors_at(feasible)
    return factors, kl_sigma_part(factors), feasible
