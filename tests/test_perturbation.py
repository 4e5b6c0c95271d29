"""Perturbation sampler and return test on systems with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from kinetigen.validation.perturbation import integrate_return, perturb_concentrations


def test_perturbation_keeps_moiety_totals_and_positivity():
    rng = np.random.default_rng(0)
    x_ref = np.array([1e-3, 2e-3, 5e-4, 1e-2, 3e-5])
    conservation = np.array([[1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0, 1.0]])
    for magnitude in (0.1, 0.25, 0.5):
        for _ in range(200):
            x = perturb_concentrations(x_ref, magnitude, rng, conservation)
            np.testing.assert_allclose(conservation @ x, conservation @ x_ref, rtol=1e-12)
            assert np.all(x > 0)
            # Metabolites outside every moiety keep the raw factor in [1 - p, 1 + p].
            assert 1 - magnitude - 1e-12 <= x[3] / x_ref[3] <= 1 + magnitude + 1e-12
    free = perturb_concentrations(x_ref, 0.5, np.random.default_rng(1))
    assert not np.allclose(free, x_ref)


def test_linear_system_returns_at_its_known_time():
    # dx/dt = -k (x - x_ref): the relative deviation d0 decays as d0 exp(-k t), so it falls
    # below the tolerance at t* = ln(d0 / tol) / k.
    k = 3.0
    x_ref = np.array([1.0, 2.0])
    x0 = x_ref * np.array([1.5, 1.2])

    def rhs(t, x):
        return -k * (x - x_ref)

    def jac(t, x):
        return -k * np.eye(2)

    t_star = np.log(0.5 / 0.01) / k
    result = integrate_return(rhs, jac, x0, x_ref, return_time=2.0, n_points=4000)
    assert result.returned
    assert result.time_to_return == pytest.approx(t_star, abs=2.0 * 2 / 4000 + 1e-3)
    assert result.max_deviation == pytest.approx(0.5, rel=1e-6)
    late = integrate_return(rhs, jac, x0, x_ref, return_time=0.5 * t_star)
    assert not late.returned


def test_unstable_system_does_not_return():
    x_ref = np.array([1.0])

    def rhs(t, x):
        return 0.5 * (x - x_ref)

    result = integrate_return(rhs, None, x_ref * 1.1, x_ref, return_time=1.0)
    assert not result.returned
    assert result.time_to_return == np.inf
    assert result.final_deviation > 0.1


@pytest.mark.parametrize("factor_source", ["derived", "old default 3"])
def test_threshold_factor_makes_just_valid_models_return(factor_source):
    """One criterion: a linear model with lambda_max just below the default threshold returns
    from the largest default perturbation within the default tolerance by one doubling time;
    at the old factor 3 such a model fails the same test."""
    from kinetigen.config import schema_defaults
    from kinetigen.kinetics.validity import return_test_factor

    validation = schema_defaults("validation")
    doubling = 1.5  # h
    factor = return_test_factor(validation) if factor_source == "derived" else 3.0
    k = 1.001 * factor / doubling  # lambda_max = -k, just below the threshold -factor / T_d
    p_max = max(validation["magnitudes"])
    x_ref = np.array([1.0, 1.0e-3])
    x0 = x_ref * np.array([1 + p_max, 1 - p_max])

    def rhs(t, x):
        return -k * (x - x_ref)

    result = integrate_return(
        rhs,
        lambda t, x: -k * np.eye(2),
        x0,
        x_ref,
        return_time=validation["return_time_factor"] * doubling,
        tolerance=validation["tolerance"],
        n_points=2000,
    )
    assert result.returned == (factor_source == "derived")
