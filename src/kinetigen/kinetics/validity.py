"""Validity threshold on the largest Jacobian eigenvalue."""

from __future__ import annotations

import math

import numpy as np

from kinetigen.kinetics.settings import KineticsSettings


def validity_threshold(growth_rate: np.ndarray | float, settings: KineticsSettings) -> np.ndarray:
    """lambda_thr (1/h) per steady state: a model is valid when lambda_max < lambda_thr.

    Default: the dominant time constant is at most ``1/factor`` of the doubling time,
    ``lambda_thr = -factor * mu / ln 2`` with ``mu`` the growth rate (1/h, the biomass flux).
    With ``threshold_fixed_per_h`` set (RENAISSANCE: -2.5 1/h) that value is used everywhere.
    A steady state without growth gets 0 (stable is all one can ask).
    """
    mu = np.maximum(np.asarray(growth_rate, dtype=float), 0.0)
    if settings.threshold_fixed_per_h is not None:
        return np.full_like(mu, settings.threshold_fixed_per_h)
    return -settings.threshold_factor * mu / math.log(2.0)
