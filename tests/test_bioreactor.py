"""Batch bioreactor simulation: balances, exhaustion, Jacobian, growth and failure reports."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import assert_full_jacobian, stable_draws

from kinetigen.kinetics import BatchedJacobian
from kinetigen.kinetics.synthetic import toy_kinetic_model
from kinetigen.schema import schema_defaults
from kinetigen.validation.bioreactor import (
    BALANCE_PREFIX,
    EXHAUSTED,
    INVALID_PARAMETERS,
    MAX_TIME,
    NON_POSITIVE,
    SOLVER_FAILED,
    BioreactorConfigError,
    BioreactorModel,
    BioreactorSettings,
    concentration_column,
    dynamic_extracellular,
    resolve_substrate,
    simulate_batch,
    simulate_ensemble,
    steady_state_uptake,
)


@pytest.fixture(scope="module")
def ecoli(synthetic_kinetics):
    """glucose_aerobic on four synthetic steady states."""
    return synthetic_kinetics(4, seed=11)[0]


@pytest.fixture(scope="module")
def stable_models(ecoli):
    """The first five ORACLE draws (uniform saturations, seed 0) with lambda_max below the
    validity threshold: (steady-state positions, ln Km)."""
    positions, ln_km = stable_draws(ecoli, 40, 5, seed=0, low=0.01, high=0.99)
    assert len(positions) == 5
    return positions, ln_km


@pytest.fixture(scope="module")
def toy():
    return toy_kinetic_model(1)


@pytest.fixture(scope="module")
def toy_ln_km(toy):
    """A stable toy parameter set (saturations 0.05..0.95; lambda_max far below threshold)."""
    rng = np.random.default_rng(3)
    saturation = rng.uniform(0.05, 0.95, size=(1, len(toy.parameters)))
    ln_km = toy.ln_km_from_saturation(saturation, np.zeros(1, int))
    assert BatchedJacobian(toy).lambda_max(ln_km, 0).item() < toy.threshold[0]
    return ln_km[0]


def test_settings_from_config():
    assert BioreactorSettings.from_config({}) == BioreactorSettings()
    # The schema is the one place that holds the defaults.
    defaults = dataclasses.asdict(BioreactorSettings())
    defaults["constant_metabolites"] = list(defaults["constant_metabolites"])
    assert defaults == schema_defaults("validation.bioreactor")
    settings = BioreactorSettings.from_config(
        {"validation": {"bioreactor": {"max_time_h": 12, "constant_metabolites": ["o2"]}}}
    )
    assert settings.max_time_h == 12.0 and settings.constant_metabolites == ("o2",)
    with pytest.raises(BioreactorConfigError, match=r"validation\.bioreactor\.max_tme_h"):
        BioreactorSettings.from_config({"validation": {"bioreactor": {"max_tme_h": 1}}})
    with pytest.raises(BioreactorConfigError, match=r"validation\.bioreactor\.exhaustion_fraction"):
        BioreactorSettings(exhaustion_fraction=1.5)
    with pytest.raises(BioreactorConfigError, match=r"validation\.bioreactor\.method"):
        BioreactorSettings(method="RK45")
    with pytest.raises(BioreactorConfigError, match=r"validation\.bioreactor\.max_time_h.*finite"):
        BioreactorSettings(max_time_h=math.inf)


def test_dynamic_metabolites_and_substrate(ecoli, toy):
    # o2, co2, nh4, pi are held constant by the medium: glucose is the only dynamic one.
    assert dynamic_extracellular(ecoli) == ["glc__D_e"]
    assert resolve_substrate(ecoli) == "glc__D_e"
    uptake = steady_state_uptake(ecoli, ["glc__D_e"])[:, 0]
    assert np.all(uptake > 5.0)  # mmol/gDW/h, the environment allows 10
    assert dynamic_extracellular(toy) == ["s_e", "p_e"]
    assert resolve_substrate(toy) == "s_e"
    with pytest.raises(BioreactorConfigError, match="'p_e' is not consumed"):
        resolve_substrate(toy, BioreactorSettings(substrate="p_e"))
    with pytest.raises(BioreactorConfigError, match=r"substrate': 'ac_e'.*glucose_aerobic"):
        resolve_substrate(ecoli, BioreactorSettings(substrate="ac_e"))
    with pytest.raises(BioreactorConfigError, match="no dynamic extracellular"):
        resolve_substrate(toy, BioreactorSettings(constant_metabolites=("s", "p")))


@pytest.mark.parametrize("which", ["ecoli", "toy"])
def test_full_jacobian_matches_finite_differences(which, ecoli, toy, stable_models, toy_ln_km):
    if which == "ecoli":
        system = BioreactorModel(ecoli, int(stable_models[0][0]), stable_models[1][0])
    else:
        system = BioreactorModel(toy, 0, toy_ln_km)
    assert_full_jacobian(system)


def test_growth_starts_at_the_steady_state_rate(ecoli, stable_models):
    position, ln_km = int(stable_models[0][0]), stable_models[1][0]
    system = BioreactorModel(ecoli, position, ln_km)
    mu0 = ecoli.growth_rate[position]
    assert system.growth_rate(system.y0) == pytest.approx(mu0, rel=1e-10)
    # The intracellular part starts at its steady state.
    flux_scale = np.abs(ecoli.stoichiometry) @ np.abs(ecoli.flux[position])
    derivative = system.rhs(0.0, system.y0)
    assert np.all(np.abs(derivative[: system.n_states]) <= 1e-6 * flux_scale)
    # Early on, biomass grows exponentially at mu0 (independent closed form).
    t_short = 0.05
    result = simulate_batch(
        ecoli, position, ln_km, BioreactorSettings(max_time_h=t_short, n_time_points=6)
    )
    course = result.time_course
    assert result.summary["initial_growth_rate_per_h"] == pytest.approx(mu0, rel=1e-10)
    assert course["growth_rate_per_h"].iloc[0] == pytest.approx(mu0, rel=1e-10)
    expected = 0.05 * np.exp(mu0 * course["time_h"].to_numpy())
    np.testing.assert_allclose(course["biomass_gDW_per_L"], expected, rtol=2e-4)


def test_balances_on_the_toy_network(toy, toy_ln_km):
    settings = BioreactorSettings(max_time_h=24.0, n_time_points=51)
    result = simulate_batch(toy, 0, toy_ln_km, settings)
    summary, course = result.summary, result.time_course
    assert summary["status"] == EXHAUSTED
    # Quadrature of X q over the run equals the change of S and of P (within tolerance).
    assert summary[BALANCE_PREFIX + "s_e"] < 1e-4
    assert summary[BALANCE_PREFIX + "p_e"] < 1e-4
    assert summary["product_balance_error"] == summary[BALANCE_PREFIX + "p_e"]
    # Closed form: OUT (b_c -> p_e) is the biomass reaction, 1 mmol p_e per gDW formed, so
    # P(t) - P0 (mmol/L) equals X(t) - X0 (gDW/L) along the whole run.
    product = course[concentration_column("p_e")].to_numpy()
    biomass = course["biomass_gDW_per_L"].to_numpy()
    np.testing.assert_allclose(product - product[0], biomass - biomass[0], rtol=1e-5, atol=1e-9)
    assert biomass[-1] > 10 * biomass[0]
    # All uptake ends up as biomass except the small intracellular pools (cell volume
    # fraction X/rho < 0.4 %): yield close to 1 gDW/mmol.
    assert summary["yield_gDW_per_mmol"] == pytest.approx(1.0, abs=0.01)


def test_product_balances_on_anaerobic_glucose(synthetic_kinetics):
    # Without oxygen e_coli_core secretes acetate, ethanol and formate: three products.
    model, _ = synthetic_kinetics(4, seed=11, env="glucose_anaerobic")
    products = ["ac_e", "etoh_e", "for_e"]
    assert sorted(dynamic_extracellular(model)) == sorted(products + ["glc__D_e"])
    assert np.all(steady_state_uptake(model, products) < 0)  # secreted
    rng = np.random.default_rng(0)
    positions = np.arange(400) % model.n_steady_states
    saturation = rng.uniform(0.01, 0.99, size=(len(positions), len(model.parameters)))
    ln_km = model.ln_km_from_saturation(saturation, positions)
    lambda_max = BatchedJacobian(model).lambda_max(ln_km, positions).numpy()
    first = int(np.flatnonzero(lambda_max < model.threshold[positions])[0])
    result = simulate_batch(model, int(positions[first]), ln_km[first])
    summary, course = result.summary, result.time_course
    assert summary["status"] in {EXHAUSTED, MAX_TIME}
    for product in products:
        column = course[concentration_column(product)]
        assert column.iloc[-1] > column.iloc[0]  # the products accumulate
        assert summary[BALANCE_PREFIX + product] < 1e-4
    assert summary["product_balance_error"] == max(
        summary[BALANCE_PREFIX + product] for product in products
    )
    assert summary["substrate_balance_error"] < 1e-4


def test_ensemble_reaches_exhaustion_or_says_why(ecoli, stable_models):
    positions, ln_km = stable_models
    settings = BioreactorSettings(processes=2, n_time_points=41)
    courses, summary = simulate_ensemble(ecoli, list(zip(positions, ln_km, strict=True)), settings)
    assert list(summary["model"]) == [0, 1, 2, 3, 4]
    assert list(summary["steady_state"]) == list(positions)
    assert set(summary["status"]) <= {EXHAUSTED, MAX_TIME}
    assert summary["reached_exhaustion"].any()
    assert (summary["substrate_balance_error"] < 1e-4).all()
    assert summary["product_balance_error"].isna().all()  # glucose is the only dynamic one
    assert len(courses) == 5 * 41
    for model, course in courses.groupby("model"):
        row = summary.set_index("model").loc[model]
        glucose = course[concentration_column("glc__D_e")].to_numpy()
        biomass = course["biomass_gDW_per_L"].to_numpy()
        assert glucose[0] == pytest.approx(20.0)  # the sample's 0.02 mol/L
        assert np.all(np.diff(biomass) >= -1e-9)  # the biomass reaction is irreversible
        if row["reached_exhaustion"]:
            assert glucose[-1] == pytest.approx(0.2, rel=1e-6)  # 1 % of the start
            assert row["exhaustion_time_h"] == pytest.approx(course["time_h"].iloc[-1])
            assert 0 < row["exhaustion_time_h"] < settings.max_time_h
            # Yield near the steady state's mu / q_glc (gDW per mmol glucose).
            uptake = steady_state_uptake(ecoli, ["glc__D_e"])[row["steady_state"], 0]
            steady_yield = ecoli.growth_rate[row["steady_state"]] / uptake
            assert 0.5 * steady_yield < row["yield_gDW_per_mmol"] < 1.5 * steady_yield
        else:
            assert math.isnan(row["exhaustion_time_h"])
            assert row["end_time_h"] == pytest.approx(settings.max_time_h)
            assert "% of its start" in row["message"]


def test_max_time_is_reported_not_raised(toy, toy_ln_km):
    result = simulate_batch(toy, 0, toy_ln_km, BioreactorSettings(max_time_h=0.5))
    summary = result.summary
    assert summary["status"] == MAX_TIME and not summary["reached_exhaustion"]
    assert math.isnan(summary["exhaustion_time_h"])
    assert summary["end_time_h"] == pytest.approx(0.5)
    assert result.time_course["time_h"].iloc[-1] == pytest.approx(0.5)
    assert "after 0.5 h" in summary["message"]


def test_non_positive_and_bad_parameters_are_reported(ecoli, stable_models, toy, toy_ln_km):
    system = BioreactorModel(ecoli, int(stable_models[0][0]), stable_models[1][0])
    # rhs stays finite on a trial state with a negative concentration and notes it.
    y = system.y0.copy()
    y[3] = -1e-9
    assert np.all(np.isfinite(system.rhs(1.0, y)))
    assert system.last_invalid == (1.0, ecoli.states[3], -1e-9)
    # The run stops only below zero by more than the absolute tolerance (1e-9 of the start).
    assert system.positivity_event(0.0, system.y0) == pytest.approx(1.0, rel=1e-8)
    y[3] = -0.5e-9 * system.y0[3]
    assert system.positivity_event(0.0, y) > 0
    y[3] = -2e-9 * system.y0[3]
    assert system.positivity_event(0.0, y) < 0
    # Tolerances this loose let the solver step through zero: the run stops and says where.
    loose = BioreactorSettings(rtol=0.3, atol_fraction=0.1, max_rhs_evaluations=20_000)
    statuses = []
    for position, ln_km in zip(*stable_models, strict=True):
        summary = simulate_batch(ecoli, int(position), ln_km, loose).summary
        statuses.append(summary["status"])
        if summary["status"] == NON_POSITIVE:
            assert not summary["reached_exhaustion"]
            assert summary["end_time_h"] < loose.max_time_h
            culprit = summary["message"].split()[1]
            assert culprit in ecoli.states + ["glc__D_e", "biomass"]
    assert statuses.count(NON_POSITIVE) >= 3, statuses
    # A run that needs too many evaluations is cut off with a reason.
    summary = simulate_batch(
        ecoli,
        int(stable_models[0][0]),
        stable_models[1][0],
        BioreactorSettings(max_rhs_evaluations=50),
    ).summary
    assert summary["status"] == SOLVER_FAILED
    assert "max_rhs_evaluations" in summary["message"] and not summary["reached_exhaustion"]
    # A non-finite Km gives a status, not an exception, and spoils no other model.
    bad = np.full(len(toy.parameters), np.nan)
    courses, summary = simulate_ensemble(
        toy, [(0, toy_ln_km), (0, bad)], BioreactorSettings(n_time_points=5), ["good", "bad"]
    )
    assert list(summary["status"]) == [EXHAUSTED, INVALID_PARAMETERS]
    assert list(summary["reached_exhaustion"]) == [True, False]
    assert set(courses["model"]) == {"good"} and len(courses) == 5
    with pytest.raises(ValueError, match="ln_km needs shape"):
        simulate_ensemble(toy, [(0, np.zeros(3))])
