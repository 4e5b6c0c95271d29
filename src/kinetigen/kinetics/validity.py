"""Validity threshold on the largest Jacobian eigenvalue, one criterion with the return test.

A model is valid when lambda_max < lambda_thr = -factor * mu / ln 2 = -factor / T_d (T_d the
doubling time). The perturbation test asks every concentration to be back within ``tolerance``
(relative) of its steady state after ``return_time_factor`` doubling times, for perturbations
of up to ``p_max`` = max(magnitudes). In linear theory the slowest mode decays as
exp(lambda_max t), so a deviation of size p has shrunk to p exp(-factor * return_time_factor)
by then; asking p_max exp(-factor * r) <= tolerance gives the smallest consistent factor,

    factor = ln(p_max / tolerance) / return_time_factor        (ln(0.5 / 0.01) = 3.91),

which is the default. Faster non-slowest modes only help; what linear theory does not cover
(non-normal transient growth, nonlinearity at large p) is what the perturbation test measures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from kinetigen.settings import ValidationSettings

if TYPE_CHECKING:  # kinetigen.kinetics.settings imports this module
    from kinetigen.kinetics.settings import KineticsSettings


def return_test_factor(validation: ValidationSettings | Mapping[str, Any]) -> float:
    """The smallest threshold factor for which every model that is valid passes the return
    test at every magnitude in linear theory: ln(max magnitude / tolerance) / return time
    factor, read from the ``validation`` settings (or config section: magnitudes, tolerance,
    return_time_factor)."""
    return ValidationSettings.coerce(validation).threshold_factor


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
