"""The log-normal prior on Km (``kinetics.km_prior``) and the bounds it gives the generator.

log10 Km ~ N(log10 median_M, log10_sd^2), truncated to each parameter's bounds. The figures
behind the defaults (median 1e-4 M, one decade): Bar-Even et al. 2011 (Biochemistry 50:4402,
median Km about 0.1 mM across BRENDA) and Park et al. 2016 (Nat Chem Biol 12:482, most
metabolite concentrations in E. coli around or above their enzymes' Km).

ORACLE with the prior (:func:`kinetigen.kinetics.screening.oracle_batch`) maps its uniform
numbers through the truncated prior's inverse CDF (:meth:`KmPrior.ln_km_from_uniform`), so its
Km follow the prior and stay inside the bounds; the generator's ``output_range: prior`` maps
its output into the prior's central interval (:func:`generator_bounds`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.special

LN10 = math.log(10.0)


@dataclass(frozen=True)
class KmPrior:
    """log10 Km ~ N(log10 ``median_M``, ``log10_sd``^2), Km in mol/L."""

    median_M: float
    log10_sd: float

    def __post_init__(self) -> None:
        if not self.median_M > 0:
            raise ValueError(f"Km prior: median_M must be positive, got {self.median_M}")
        if not self.log10_sd > 0:
            raise ValueError(f"Km prior: log10_sd must be positive, got {self.log10_sd}")

    @classmethod
    def from_settings(cls, settings: Any) -> KmPrior | None:
        """From ``kinetics.km_prior`` settings (:class:`kinetigen.settings.KmPriorSettings`);
        None for kind ``none``."""
        if settings.kind == "none":
            return None
        return cls(float(settings.median_M), float(settings.log10_sd))

    @property
    def ln_median(self) -> float:
        return math.log(self.median_M)

    @property
    def ln_sd(self) -> float:
        """Standard deviation of ln Km."""
        return self.log10_sd * LN10

    def central_interval(self, n_sd: float) -> tuple[float, float]:
        """ln Km bounds median_M * 10^(+-n_sd * log10_sd)."""
        return self.ln_median - n_sd * self.ln_sd, self.ln_median + n_sd * self.ln_sd

    def z(self, ln_km: Any) -> Any:
        """Standard scores of ln Km (numpy arrays or torch tensors)."""
        return (ln_km - self.ln_median) / self.ln_sd

    def ln_km_from_uniform(
        self, uniform: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> np.ndarray:
        """ln Km [B, P] of the prior truncated to [lower, upper] [P] (ln mol/L), by its
        inverse CDF at ``uniform`` [B, P] in (0, 1)."""
        uniform = np.asarray(uniform, dtype=float)
        low = scipy.special.ndtr(self.z(np.asarray(lower, dtype=float)))
        high = scipy.special.ndtr(self.z(np.asarray(upper, dtype=float)))
        z = scipy.special.ndtri(low + uniform * (high - low))
        return np.clip(self.ln_median + self.ln_sd * z, lower, upper)


def generator_bounds(
    lower: np.ndarray,
    upper: np.ndarray,
    prior: KmPrior,
    n_sd: float,
    measured: tuple[Sequence[int], np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The generator's ln Km bounds for ``output_range: prior``: the prior's central interval
    (``n_sd`` standard deviations) within each parameter's bounds ``lower``/``upper`` [P] (a
    parameter whose bounds miss the interval keeps its bounds); ``measured`` (positions, ln
    lower, ln upper, as :func:`kinetigen.kinetics.parameters.measured_columns`) keep theirs."""
    low, high = prior.central_interval(n_sd)
    new_lower = np.maximum(np.asarray(lower, dtype=float), low)
    new_upper = np.minimum(np.asarray(upper, dtype=float), high)
    disjoint = new_lower > new_upper
    new_lower[disjoint], new_upper[disjoint] = lower[disjoint], upper[disjoint]
    if measured is not None and len(measured[0]):
        index = np.asarray(measured[0], dtype=int)
        new_lower[index], new_upper[index] = measured[1], measured[2]
    return new_lower, new_upper
