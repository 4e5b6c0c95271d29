"""Kinetic model of a hand-built network against independently derived closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from kinetigen.kinetics import (
    CONVENIENCE,
    IRREVERSIBLE_MM,
    REVERSIBLE_MM,
    BatchedJacobian,
    NonlinearModel,
)
from kinetigen.kinetics.settings import GAS_CONSTANT_KJ
from kinetigen.kinetics.synthetic import (
    TOY_CONCENTRATIONS_M,
    TOY_DG_KJ,
    toy_kinetic_model,
)

RT = GAS_CONSTANT_KJ * 310.15
RATE = 1.0e-3 * 300.0  # 1 mmol/gDW/h in mol/L/h


@pytest.fixture(scope="module")
def toy():
    return toy_kinetic_model(3, seed=1)


@pytest.fixture(scope="module")
def km_values(toy):
    """Km (mol/L) per parameter name: arbitrary, far from the concentrations."""
    rng = np.random.default_rng(7)
    return {name: float(10 ** rng.uniform(-5, -2)) for name in toy.parameter_names}


def test_structure_of_toy_network(toy):
    assert toy.states == ["a_c", "b_c", "atp_c", "adp_c", "pi_c"]
    assert toy.boundary == ["s_e", "p_e"]
    assert toy.fixed == ["h_c"]
    assert toy.reactions == ["UPT", "KIN", "OUT", "REG"]  # exchanges left out
    kinds = {law.reaction: law.kind for law in toy.rate_laws}
    assert kinds == {
        "UPT": REVERSIBLE_MM,
        "KIN": CONVENIENCE,
        "OUT": IRREVERSIBLE_MM,
        "REG": REVERSIBLE_MM,
    }
    # pi is a small molecule and h is H+: neither saturates.
    assert toy.parameter_names == [
        "km_UPT_s_e",
        "km_UPT_a_c",
        "km_KIN_a_c",
        "km_KIN_atp_c",
        "km_KIN_b_c",
        "km_KIN_adp_c",
        "km_OUT_b_c",
        "km_REG_adp_c",
        "km_REG_atp_c",
    ]
    roles = {p.name: p.role for p in toy.parameters}
    assert roles["km_KIN_b_c"] == "product" and roles["km_KIN_atp_c"] == "substrate"
    # Two moieties (atp + adp, atp + pi): three independent states.
    assert toy.n_reduced == 3 and len(toy.dependent) == 2
    conserved = np.zeros((2, 5))
    conserved[0, [2, 3]] = 1.0
    conserved[1, [2, 4]] = 1.0
    assert np.allclose(conserved @ toy.stoichiometry, 0.0)
    np.testing.assert_allclose(toy.growth_rate[0], 1.0)
    np.testing.assert_allclose(toy.threshold[0], -math.log(0.5 / 0.01) / math.log(2.0))


def test_rates_reproduce_fluxes_and_gamma(toy, km_values):
    ln_km = np.log([km_values[n] for n in toy.parameter_names])
    for position in range(toy.n_steady_states):
        model = NonlinearModel(toy, position, ln_km)
        np.testing.assert_allclose(model.rates(model.x_ref), toy.flux[position], rtol=1e-12)
        assert np.abs(model.rhs(0.0, model.x_ref)).max() <= 1e-12 * RATE
        gamma = model.displacement(model.x_ref)
        expected = np.exp(toy.dg[position] / RT)
        reversible = toy.layout.reversible
        np.testing.assert_allclose(gamma[reversible], expected[reversible], rtol=1e-12)
        assert np.isnan(gamma[~reversible]).all()


def _closed_form(km_values):
    """Textbook rate laws (forward/backward Vmax tied by Haldane) and their Jacobian."""
    a, b, atp, adp, pi = sympy.symbols("a b atp adp pi", positive=True)
    s = TOY_CONCENTRATIONS_M["s_e"]  # p_e is a product of the irreversible OUT only
    x_ref = {a: 2.0e-4, b: 5.0e-4, atp: 3.0e-3, adp: 1.0e-3, pi: 5.0e-3}
    k = {name: sympy.Float(value) for name, value in km_values.items()}
    keq = {
        "UPT": x_ref[a] / s * math.exp(-TOY_DG_KJ["UPT"] / RT),
        "KIN": x_ref[b]
        * x_ref[adp]
        * x_ref[pi]
        / (x_ref[a] * x_ref[atp])
        * math.exp(-TOY_DG_KJ["KIN"] / RT),
        "REG": x_ref[atp] / (x_ref[adp] * x_ref[pi]) * math.exp(-TOY_DG_KJ["REG"] / RT),
    }
    vf = sympy.symbols("vf_upt vf_kin vf_out vf_reg", positive=True)
    # UPT: reversible MM, Vr = Vf Ka / (Ks Keq).
    ks, ka = k["km_UPT_s_e"], k["km_UPT_a_c"]
    v_upt = (vf[0] * s / ks - vf[0] * ka / (ks * keq["UPT"]) * a / ka) / (1 + s / ks + a / ka)
    # KIN: convenience kinetics; pi enters only the backward term (not saturating).
    k_a, k_t, k_b, k_d = (k[f"km_KIN_{m}"] for m in ("a_c", "atp_c", "b_c", "adp_c"))
    backward = vf[1] * (k_b * k_d) / (k_a * k_t * keq["KIN"])
    v_kin = (vf[1] * (a / k_a) * (atp / k_t) - backward * (b / k_b) * (adp / k_d) * pi) / (
        (1 + a / k_a) * (1 + atp / k_t) + (1 + b / k_b) * (1 + adp / k_d) - 1
    )
    v_out = vf[2] * (b / k["km_OUT_b_c"]) / (1 + b / k["km_OUT_b_c"])
    k_d2, k_t2 = k["km_REG_adp_c"], k["km_REG_atp_c"]
    # REG: pi (small) is in Keq's mass-action ratio only, so the backward term carries 1/pi.
    v_reg = (vf[3] * adp / k_d2 - vf[3] * k_t2 / (k_d2 * keq["REG"]) * atp / k_t2 / pi) / (
        1 + adp / k_d2 + atp / k_t2
    )
    rates = [v_upt, v_kin, v_out, v_reg]
    # Vf from the steady-state flux (every reaction carries 1 mmol/gDW/h).
    vf_values = {
        symbol: sympy.solve(sympy.Eq(rate.subs(x_ref), RATE), symbol)[0]
        for symbol, rate in zip(vf, rates, strict=True)
    }
    stoichiometry = sympy.Matrix(
        [[1, -1, 0, 0], [0, 1, -1, 0], [0, -1, 0, 1], [0, 1, 0, -1], [0, 1, 0, -1]]
    )
    states = [a, b, atp, adp, pi]
    rhs = stoichiometry * sympy.Matrix(rates)
    full = rhs.jacobian(states).subs(vf_values).subs(x_ref)
    # Reduced by hand: adp = T1 - atp, pi = T2 - atp, independent (a, b, atp).
    totals = {adp: sympy.Symbol("T1") - atp, pi: sympy.Symbol("T2") - atp}
    reduced_rhs = sympy.Matrix(rhs[:3]).subs(totals)
    total_values = {
        sympy.Symbol("T1"): x_ref[atp] + x_ref[adp],
        sympy.Symbol("T2"): x_ref[atp] + x_ref[pi],
    }
    reduced = reduced_rhs.jacobian([a, b, atp]).subs(vf_values).subs(total_values).subs(x_ref)
    return np.array(full, dtype=float), np.array(reduced, dtype=float)


def test_jacobian_equals_closed_form(toy, km_values):
    full_expected, reduced_expected = _closed_form(km_values)
    ln_km = np.log([km_values[n] for n in toy.parameter_names])
    model = NonlinearModel(toy, 0, ln_km)
    scale = np.abs(full_expected).max()
    np.testing.assert_allclose(
        model.jac(0.0, model.x_ref), full_expected, rtol=1e-9, atol=1e-12 * scale
    )

    batched = BatchedJacobian(toy).jacobian(ln_km[None, :], 0)[0].numpy()
    # Pivoting keeps (a, b, atp) independent, the coordinates of the hand reduction.
    assert [toy.states[i] for i in toy.independent] == ["a_c", "b_c", "atp_c"]
    np.testing.assert_allclose(batched, reduced_expected, rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_allclose(
        np.sort_complex(np.linalg.eigvals(batched)),
        np.sort_complex(np.linalg.eigvals(reduced_expected)),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        model.jac_reduced(0.0, model.reduce(model.x_ref)), batched, rtol=1e-10, atol=1e-12 * scale
    )


def test_reversible_mm_elasticities_closed_form(toy, km_values):
    """UPT: eps_a = -u_a/D - Gamma/(1-Gamma) (hand-derived from v = V u_s (1-Gamma)/D)."""
    ln_km = np.log([km_values[n] for n in toy.parameter_names])
    out = BatchedJacobian(toy).evaluate(ln_km[None, :], 0)
    u_s = TOY_CONCENTRATIONS_M["s_e"] / km_values["km_UPT_s_e"]
    u_a = TOY_CONCENTRATIONS_M["a_c"] / km_values["km_UPT_a_c"]
    gamma = math.exp(TOY_DG_KJ["UPT"] / RT)
    expected = -u_a / (1 + u_s + u_a) - gamma / (1 - gamma)
    eps = out["elasticities"][0].numpy()
    assert eps[0, toy.states.index("a_c")] == pytest.approx(expected, rel=1e-12)
    # Irreversible OUT: eps_b = 1/(1 + u_b); no other dependence.
    u_b = TOY_CONCENTRATIONS_M["b_c"] / km_values["km_OUT_b_c"]
    assert eps[2, toy.states.index("b_c")] == pytest.approx(1.0 / (1.0 + u_b), rel=1e-12)
    assert np.count_nonzero(eps[2]) == 1
    # Vmax of UPT: v / (u_s (1 - Gamma) / D).
    vmax = RATE / (u_s * (1 - gamma) / (1 + u_s + u_a))
    assert out["vmax"][0, 0].item() == pytest.approx(vmax, rel=1e-12)


def test_moiety_totals_round_trip(toy, km_values):
    ln_km = np.log([km_values[n] for n in toy.parameter_names])
    model = NonlinearModel(toy, 1, ln_km)
    x = model.x_ref * np.random.default_rng(3).uniform(0.8, 1.2, size=5)
    totals = model.conserved_totals(x)
    np.testing.assert_allclose(model.expand(model.reduce(x), totals), x, rtol=1e-14)
    np.testing.assert_allclose(model.conservation_matrix @ x, totals, rtol=1e-14)
    # The dynamics keep the totals: G dx/dt = 0 anywhere.
    np.testing.assert_allclose(model.conservation_matrix @ model.rhs(0.0, x), 0.0, atol=1e-12)
    expected_totals = [
        TOY_CONCENTRATIONS_M["atp_c"] + TOY_CONCENTRATIONS_M["adp_c"],
        TOY_CONCENTRATIONS_M["atp_c"] + TOY_CONCENTRATIONS_M["pi_c"],
    ]
    model0 = NonlinearModel(toy, 0, ln_km)
    # Whatever the dependent choice, G spans the same conserved combinations.
    combos = np.linalg.lstsq(
        model0.conservation_matrix.T,
        np.array([[0, 0, 1, 1, 0], [0, 0, 1, 0, 1]], dtype=float).T,
        rcond=None,
    )[0]
    np.testing.assert_allclose(combos.T @ model0.totals, expected_totals, rtol=1e-12)
