"""Control coefficients on e_coli_core: theorems, a per-model numpy path, finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinetigen.analysis import (
    STATUS_LABELS,
    ControlAnalysis,
    combined_flux_control,
    control_coefficients_single,
)
from kinetigen.analysis.control import (
    OK,
    SINGULAR,
    ControlCoefficients,
    finite_difference_control,
)
from kinetigen.kinetics import BatchedJacobian, build_kinetic_model
from kinetigen.kinetics.synthetic import synthetic_steady_states

N_SAMPLES = 6
N_MODELS = 240


@pytest.fixture(scope="module", params=["glucose_aerobic", "acetate_aerobic"])
def kinetic(request, _textbook, _default_config):
    env = request.param
    environment = _default_config["environments"][env]
    samples = synthetic_steady_states(
        _textbook, env, environment, _default_config, N_SAMPLES, seed=11
    )
    return build_kinetic_model(_textbook, samples, _default_config, env)


@pytest.fixture(scope="module")
def population(kinetic):
    """ORACLE-style random saturations on every steady state, plus near-saturated and
    near-linear extremes; lambda_max and validity beside."""
    rng = np.random.default_rng(5)
    positions = np.arange(N_MODELS) % kinetic.n_steady_states
    saturation = rng.uniform(0.02, 0.98, size=(N_MODELS, len(kinetic.parameters)))
    saturation[0] = 0.999
    saturation[1] = 0.001
    ln_km = kinetic.ln_km_from_saturation(saturation, positions)
    lambda_max = BatchedJacobian(kinetic).lambda_max(ln_km, positions).numpy()
    return positions, ln_km, lambda_max < kinetic.threshold[positions]


@pytest.fixture(scope="module")
def coefficients(kinetic, population):
    positions, ln_km, _ = population
    return ControlAnalysis(kinetic)(ln_km, positions, batch_size=100)  # three batches


def test_shapes_and_status(kinetic, coefficients):
    n_reactions, n_states = len(kinetic.reactions), len(kinetic.states)
    assert kinetic.sizes()["moieties"] > 0  # the moiety path is exercised
    assert coefficients.flux.shape == (N_MODELS, n_reactions, n_reactions)
    assert coefficients.concentration.shape == (N_MODELS, n_states, n_reactions)
    counts = coefficients.status_counts()
    assert set(counts) == set(STATUS_LABELS.values())
    assert sum(counts.values()) == N_MODELS
    assert counts["ok"] >= 0.95 * N_MODELS, counts


def test_summation_and_connectivity_theorems(coefficients):
    residuals = coefficients.residuals()
    ok = coefficients.ok
    for name, values in residuals.items():
        assert np.all(values[ok] < 1e-8), (name, np.nanmax(values))
        assert np.all(np.isnan(values[~ok]))
    # Plain statements of the same theorems on one model.
    flux = coefficients.flux[ok][0].numpy()
    concentration = coefficients.concentration[ok][0].numpy()
    np.testing.assert_allclose(flux.sum(axis=1), 1.0, atol=1e-8)
    np.testing.assert_allclose(concentration.sum(axis=1), 0.0, atol=1e-8)
    e_link = (coefficients.elasticities[ok][0] @ coefficients.scaled_link[ok][0]).numpy()
    np.testing.assert_allclose(flux @ e_link, 0.0, atol=1e-8)
    np.testing.assert_allclose(
        concentration @ e_link, -coefficients.scaled_link[ok][0].numpy(), atol=1e-8
    )


def test_batched_matches_per_model_numpy(kinetic, population, coefficients):
    positions, ln_km, _ = population
    for b in np.flatnonzero(coefficients.ok)[:10]:
        flux, concentration = control_coefficients_single(kinetic, int(positions[b]), ln_km[b])
        # Both paths round at the scale of the largest coefficient (up to 1e5 for
        # concentrations that barely any enzyme fixes).
        for batched, single in (
            (coefficients.flux[b].numpy(), flux),
            (coefficients.concentration[b].numpy(), concentration),
        ):
            scale = max(1.0, np.abs(single).max())
            np.testing.assert_allclose(batched, single, rtol=0, atol=1e-9 * scale)


def test_agrees_with_finite_differences_of_the_nonlinear_model(kinetic, population, coefficients):
    positions, ln_km, valid = population
    rng = np.random.default_rng(2)
    checked = 0
    for b in np.flatnonzero(valid & coefficients.ok)[:8]:
        enzymes = rng.choice(len(kinetic.reactions), 6, replace=False)
        fd_flux, fd_concentration = finite_difference_control(
            kinetic, int(positions[b]), ln_km[b], enzymes
        )
        flux = coefficients.flux[b].numpy()[:, enzymes]
        concentration = coefficients.concentration[b].numpy()[:, enzymes]
        # 1e-3 relative; for coefficients near zero relative to 1e-2 of the largest one of
        # their column (up to 200: one Vmax step of 1e-3 moves that ln x by 0.2).
        for fd, exact in ((fd_flux, flux), (fd_concentration, concentration)):
            floor = np.maximum(1e-2 * np.abs(exact).max(axis=0), 1e-3)
            error = np.abs(fd - exact) / np.maximum(np.abs(exact), floor)
            worst = np.unravel_index(np.argmax(error), error.shape)
            assert error[worst] <= 1e-3, (b, worst, exact[worst], fd[worst])
        checked += 1
    assert checked == 8


def test_combined_flux_of_a_boundary_metabolite(kinetic, coefficients):
    """Uptake of the carbon source = minus the kinetic reactions' net use of it."""
    substrate = "glc__D_e" if kinetic.environment.startswith("glucose") else "ac_e"
    weights = torch.tensor(
        [[-c.get(substrate, 0.0) for c in kinetic.reaction_metabolites]], dtype=torch.float64
    )
    ok = coefficients.ok
    flux = torch.as_tensor(kinetic.flux[np.arange(N_MODELS) % N_SAMPLES][ok])
    combined = combined_flux_control(coefficients.flux[ok], flux, weights)[:, 0]
    np.testing.assert_allclose(combined.sum(-1).numpy(), 1.0, atol=1e-8)
    users = np.flatnonzero(weights[0].numpy())
    if len(users) == 1:  # one transporter: its own flux control coefficients
        np.testing.assert_allclose(combined.numpy(), coefficients.flux[ok][:, users[0]].numpy())


def test_bad_models_are_counted_not_raised(kinetic, population, monkeypatch):
    positions, ln_km, _ = population
    ln_km = ln_km[:4].copy()
    ln_km[1, 3] = np.nan
    analysis = ControlAnalysis(kinetic)
    result = analysis(ln_km, positions[:4])
    assert result.status_counts()["non-finite elasticities"] == 1
    assert torch.isnan(result.flux[1]).all() and torch.isfinite(result.flux[0]).all()

    def zero_elasticities(ln_km, steady_state):  # M = 0: every model singular
        elasticities, finite = BatchedJacobian.elasticities(analysis.jacobian, ln_km, steady_state)
        return torch.zeros_like(elasticities), finite

    monkeypatch.setattr(analysis.jacobian, "elasticities", zero_elasticities)
    result = analysis(ln_km, positions[:4])
    assert (result.status[[0, 2, 3]] == SINGULAR).all()
    assert result.status_counts()["singular Jacobian"] == 3


def _chain(flux_control: list[list[float]]) -> ControlCoefficients:
    """A constant-rate supply v1 -> x -> v2: v1's elasticity to x is rounding noise, so the
    steady-state flux v2 is set by v1 alone (C^J = [[1, 0], [1, 0]], C^x = [[1, -1]])."""
    as_batch = lambda rows: torch.tensor([rows], dtype=torch.float64)  # noqa: E731
    return ControlCoefficients(
        ["supply", "use"],
        ["x"],
        as_batch(flux_control),
        as_batch([[1.0, -1.0]]),
        as_batch([[1e-17], [1.0]]),
        as_batch([[1.0]]),
        np.array([OK]),
    )


def test_connectivity_of_a_flux_that_a_constant_rate_sets():
    # Every term of C^J E Lt is rounding noise there (1e-17): judged against its own size
    # the residual would read 1 and reject a correct model; the floor of 1 keeps it at 1e-17.
    residuals = _chain([[1.0, 0.0], [1.0, 0.0]]).residuals()
    for name, value in residuals.items():
        assert value[0] < 1e-12, (name, value)
    # A genuine violation is still caught.
    assert _chain([[1.0, 0.0], [0.5, 0.5]]).residuals()["flux_connectivity"][0] > 0.4
