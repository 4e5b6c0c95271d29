"""Growth of a drained model (``kinetics.biomass_law: per_substrate``) on e_coli_core: one
definition (KineticModel.growth_weights) in the bioreactor and the control analysis; the
lumped model's growth is the biomass reaction as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_full_jacobian, stable_draws

from kinetigen.analysis import ControlAnalysis, combined_flux_control
from kinetigen.analysis.perturbations import (
    EnzymeChange,
    PerturbationTask,
    enzyme_perturbations,
    flux_targets,
)
from kinetigen.analysis.steady import solve_steady_state, with_enzyme_levels
from kinetigen.kinetics import NonlinearModel
from kinetigen.validation.bioreactor import BioreactorModel, BioreactorSettings, simulate_batch

BIOMASS = "Biomass_Ecoli_core"


@pytest.fixture(scope="module")
def lumped(synthetic_kinetics):
    return synthetic_kinetics(3, seed=31)[0]


@pytest.fixture(scope="module")
def drains(synthetic_kinetics):
    return synthetic_kinetics(3, seed=31, biomass_law="per_substrate")[0]


@pytest.fixture(scope="module")
def stable(drains):
    """Up to four stable draws (saturations 0.05..0.95): (positions, ln Km)."""
    positions, ln_km = stable_draws(drains, 60, 4, seed=7, low=0.05, high=0.95)
    assert len(positions) >= 2
    return positions, ln_km


def test_growth_weights(lumped, drains):
    weights = lumped.growth_weights()
    assert weights[lumped.reactions.index(BIOMASS)] == 1.0 and weights.sum() == 1.0
    weights = drains.growth_weights()
    assert weights.sum() == pytest.approx(1.0, abs=1e-12) and np.all(weights >= 0)
    used = np.flatnonzero(weights)
    assert all(drains.rate_laws[j].parent == BIOMASS for j in used)
    assert all(drains.rate_laws[j].substrates for j in used)  # the rest is left out
    # weights are carbon shares: glutamate (4.94 mmol/gDW, 5 C) weighs the most, the ATP
    # of the growth-associated maintenance (59.8 mmol/gDW, returned as ADP) nothing
    assert drains.reactions[used[np.argmax(weights[used])]] == f"{BIOMASS}__glu__L_c"
    assert weights[drains.reactions.index(f"{BIOMASS}__atp_c")] == 0.0
    # growth flux = the biomass flux = the sampled growth rate at every steady state
    mu = drains.flux @ weights / drains.settings.flux_to_molar_rate
    np.testing.assert_allclose(mu, drains.growth_rate, rtol=1e-12)
    np.testing.assert_allclose(mu, lumped.growth_rate, rtol=1e-12)


def test_bioreactor_grows_at_the_steady_state_rate(drains, stable):
    position, ln_km = int(stable[0][0]), stable[1][0]
    system = BioreactorModel(drains, position, ln_km)
    mu0 = drains.growth_rate[position]
    assert system.growth_rate(system.y0) == pytest.approx(mu0, rel=1e-10)
    result = simulate_batch(
        drains, position, ln_km, BioreactorSettings(max_time_h=0.05, n_time_points=6)
    )
    course = result.time_course
    assert result.summary["initial_growth_rate_per_h"] == pytest.approx(mu0, rel=1e-10)
    expected = 0.05 * np.exp(mu0 * course["time_h"].to_numpy())
    np.testing.assert_allclose(course["biomass_gDW_per_L"], expected, rtol=2e-4)


def test_bioreactor_jacobian_matches_finite_differences(drains, stable):
    assert_full_jacobian(BioreactorModel(drains, int(stable[0][0]), stable[1][0]))


def _growth_control(model, positions, ln_km):
    coefficients = ControlAnalysis(model)(ln_km, positions)
    targets = flux_targets(model, None, [BIOMASS])
    flux = torch.as_tensor(model.flux[positions])
    weights = torch.as_tensor(targets.weights)
    return coefficients, combined_flux_control(coefficients.flux, flux, weights)[:, 0].numpy()


def test_growth_control_summation_and_finite_differences(drains, stable):
    positions, ln_km = stable
    coefficients, control = _growth_control(drains, positions, ln_km)
    assert coefficients.ok.all()
    np.testing.assert_allclose(control.sum(-1), 1.0, atol=1e-8)
    weights = drains.growth_weights()
    rng = np.random.default_rng(3)
    drain_columns = np.flatnonzero(weights)[:2]
    others = rng.choice(np.flatnonzero(weights == 0), 4, replace=False)
    enzymes = np.concatenate([drain_columns, others])
    b = 0
    checked = []
    nonlinear = NonlinearModel(drains, int(positions[b]), ln_km[b])

    def ln_growth(fold_of_enzyme: float, enzyme: int) -> float:
        fold = np.ones(len(drains.reactions))
        fold[enzyme] = fold_of_enzyme
        changed = with_enzyme_levels(nonlinear, fold)
        root = solve_steady_state(changed, nonlinear.x_ref)
        assert root.converged
        return float(np.log(weights @ changed.rates(root.x)))

    for enzyme in enzymes:
        def central(h, enzyme=int(enzyme)):
            return (ln_growth(1 + h, enzyme) - ln_growth(1 - h, enzyme)) / (
                np.log1p(h) - np.log1p(-h)
            )

        fd = (4 * central(5e-4) - central(1e-3)) / 3
        exact = control[b, enzyme]
        checked.append(abs(exact))
        assert abs(fd - exact) <= 1e-3 * max(abs(exact), 1e-2), (enzyme, exact, fd)
    assert max(checked) > 1e-2  # not a comparison of zeros


def test_lumped_growth_control_is_the_biomass_reactions(lumped):
    rng = np.random.default_rng(5)
    positions = np.arange(4) % lumped.n_steady_states
    saturation = rng.uniform(0.05, 0.95, size=(len(positions), len(lumped.parameters)))
    ln_km = lumped.ln_km_from_saturation(saturation, positions)
    coefficients, control = _growth_control(lumped, positions, ln_km)
    ok = coefficients.ok
    assert ok.any()
    np.testing.assert_allclose(
        control[ok],
        coefficients.flux[ok][:, lumped.reactions.index(BIOMASS)].numpy(),
        rtol=1e-12,
        atol=1e-14,
    )


def test_enzyme_perturbation_reads_growth(drains, stable):
    """flux_before is the sampled growth rate; a small change of a drain's enzyme moves
    growth as the control coefficient predicts."""
    positions, ln_km = stable
    _, control = _growth_control(drains, positions[:1], ln_km[:1])
    drain = drains.reactions[int(np.argmax(drains.growth_weights()))]
    position = int(positions[0])
    task = PerturbationTask(
        "g", 0, position, ln_km[0], control[:1], np.log(2.0) / drains.growth_rate[position]
    )
    table = enzyme_perturbations(
        drains,
        [task],
        [EnzymeChange((drain,), 1.01)],
        flux_targets(drains, None, [BIOMASS]),
        tolerance=1e-6,
    )
    row = table.iloc[0]
    assert row["flux_before"] == pytest.approx(drains.growth_rate[position], rel=1e-10)
    assert row["reached"]
    assert np.log(row["fold_change"]) == pytest.approx(
        np.log(row["linear_fold_change"]), rel=0.05, abs=1e-6
    )
