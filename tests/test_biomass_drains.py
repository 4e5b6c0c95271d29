"""kinetics.biomass_law: per_substrate (kinetigen.kinetics.drains) on e_coli_core: the drains
reproduce the steady state, keep the moieties and the Km space, and the batched Jacobian and
the SBML export agree with the nonlinear model; lumped stays as it was."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import roadrunner

from kinetigen.kinetics import BatchedJacobian, NonlinearModel, build_kinetic_model, export_sbml
from kinetigen.kinetics.synthetic import synthetic_steady_states

ENV = "glucose_aerobic"
BIOMASS = "Biomass_Ecoli_core"


def _config(default: dict, law: str | None) -> dict:
    config = copy.deepcopy(default)
    if law is not None:
        config.setdefault("kinetics", {})["biomass_law"] = law
    return config


@pytest.fixture(scope="module")
def samples(_textbook, _default_config):
    environment = _default_config["environments"][ENV]
    return synthetic_steady_states(_textbook, ENV, environment, _default_config, 3, seed=31)


@pytest.fixture(scope="module")
def lumped(_textbook, _default_config, samples):
    return build_kinetic_model(_textbook, samples, _default_config, ENV)


@pytest.fixture(scope="module")
def drains(_textbook, _default_config, samples):
    config = _config(_default_config, "per_substrate")
    return build_kinetic_model(_textbook, samples, config, ENV)


@pytest.fixture(scope="module")
def parameters(drains):
    saturation = np.random.default_rng(5).uniform(0.05, 0.95, size=(1, len(drains.parameters)))
    return 1, drains.ln_km_from_saturation(saturation, [1])[0]


def _drain_ids(model) -> list[str]:
    return [law.reaction for law in model.rate_laws if law.parent == BIOMASS]


def test_lumped_is_the_default_and_unchanged(_textbook, _default_config, samples, lumped):
    explicit = build_kinetic_model(_textbook, samples, _config(_default_config, "lumped"), ENV)
    assert lumped.reactions == explicit.reactions and BIOMASS in lumped.reactions
    assert lumped.parameter_names == explicit.parameter_names
    np.testing.assert_array_equal(lumped.stoichiometry, explicit.stoichiometry)
    np.testing.assert_array_equal(lumped.flux, explicit.flux)
    law = lumped.rate_laws[lumped.reactions.index(BIOMASS)]
    assert law.parent == "" and law.km_reaction == BIOMASS and len(law.substrates) > 10
    assert not _drain_ids(lumped)


def test_drains_replace_the_biomass_law(lumped, drains):
    ids = _drain_ids(drains)
    assert BIOMASS not in drains.reactions
    law = lumped.rate_laws[lumped.reactions.index(BIOMASS)]
    state_substrates = [m for m, _ in law.substrates if m in lumped.states]
    assert ids[: len(state_substrates)] == [f"{BIOMASS}__{m}" for m in state_substrates]
    # every other reaction as before
    assert [r for r in drains.reactions if r not in ids] == [
        r for r in lumped.reactions if r != BIOMASS
    ]
    # the drains and the rest make and use, over the states, exactly what the biomass did
    columns = [drains.reactions.index(r) for r in ids]
    np.testing.assert_allclose(
        drains.stoichiometry[:, columns].sum(axis=1),
        lumped.stoichiometry[:, lumped.reactions.index(BIOMASS)],
        atol=1e-12,
    )
    # each drain runs at the biomass flux; its Km is the lumped law's (no new Km)
    bio_flux = lumped.flux[:, lumped.reactions.index(BIOMASS)]
    for column in columns:
        np.testing.assert_array_equal(drains.flux[:, column], bio_flux)
    assert set(drains.parameter_names) <= set(lumped.parameter_names)
    assert {f"km_{BIOMASS}_{m}" for m in state_substrates} <= set(drains.parameter_names)
    assert drains.states == lumped.states


def test_products_go_with_their_moiety(drains):
    metabolites = dict(zip(drains.reactions, drains.reaction_metabolites, strict=True))
    assert metabolites[f"{BIOMASS}__atp_c"]["adp_c"] > 0
    assert metabolites[f"{BIOMASS}__nadph_c"]["nadp_c"] > 0
    assert metabolites[f"{BIOMASS}__nad_c"]["nadh_c"] > 0
    assert metabolites[f"{BIOMASS}__accoa_c"]["coa_c"] > 0
    # 2-oxoglutarate pairs with no substrate: it follows growth, each drain making its
    # share g_s of it (the growth weights), so no constant-rate rest changes a state
    assert f"{BIOMASS}__rest" not in drains.reactions
    ids = _drain_ids(drains)
    weights = drains.growth_weights()[[drains.reactions.index(r) for r in ids]]
    made = np.array([metabolites[r].get("akg_c", 0.0) for r in ids])
    np.testing.assert_allclose(made / made.sum(), weights, rtol=1e-12)


def test_growth_shares_are_carbon_shares(_textbook, drains):
    """g_s is drain s's share of the carbon entering biomass, counted from the formulas
    here: the drains that return their moiety whole (ATP to ADP, NAD to NADH, NADPH to NADP)
    take none, so they neither count toward growth nor make by-products, and no drain makes
    carbon (with protons held fixed, ATP synthase can run the ATP drain without substrate)."""
    carbon = {m.id: m.elements.get("C", 0) for m in _textbook.metabolites}
    metabolites = dict(zip(drains.reactions, drains.reaction_metabolites, strict=True))
    ids = _drain_ids(drains)
    # carbon taken = carbon consumed by the drain, less that of its paired products (the
    # by-products that follow growth are what a share of the taken carbon makes)
    paired = {
        r: {m: c for m, c in metabolites[r].items() if m != "akg_c"} for r in ids
    }
    taken = np.array([-sum(c * carbon[m] for m, c in paired[r].items()) for r in ids])
    weights = drains.growth_weights()[[drains.reactions.index(r) for r in ids]]
    np.testing.assert_allclose(weights, taken / taken.sum(), rtol=1e-10, atol=1e-14)
    for neutral in ("atp_c", "nad_c", "nadph_c"):
        assert weights[ids.index(f"{BIOMASS}__{neutral}")] == 0.0
        assert metabolites[f"{BIOMASS}__{neutral}"].get("akg_c", 0.0) == 0.0
    net = np.array([sum(c * carbon[m] for m, c in metabolites[r].items()) for r in ids])
    assert np.all(net <= 1e-9)


def test_moieties_are_conserved(lumped, drains):
    assert len(drains.dependent) == len(lumped.dependent) > 0
    nonlinear = NonlinearModel(drains, 0, np.zeros(len(drains.parameters)))
    conservation = nonlinear.conservation_matrix
    assert np.abs(conservation @ drains.stoichiometry).max() <= 1e-10


def test_the_steady_state_is_reproduced(drains, parameters):
    position, ln_km = parameters
    for steady_state in range(drains.n_steady_states):
        nonlinear = NonlinearModel(drains, steady_state, ln_km)
        rates = nonlinear.rates(nonlinear.x_ref)
        np.testing.assert_allclose(rates, drains.flux[steady_state], rtol=1e-9)
        scale = np.abs(drains.stoichiometry) @ np.abs(rates)
        assert np.all(np.abs(nonlinear.rhs(0.0, nonlinear.x_ref)) <= 1e-9 * scale)


def test_batched_jacobian_matches_finite_differences(drains, parameters):
    position, ln_km = parameters
    nonlinear = NonlinearModel(drains, position, ln_km)
    batched = BatchedJacobian(drains).jacobian(ln_km, position)[0].numpy()
    x_independent = nonlinear.reduce(nonlinear.x_ref)
    numeric = np.empty_like(batched)
    for k in range(len(x_independent)):
        step = 1e-6 * x_independent[k]
        up, down = x_independent.copy(), x_independent.copy()
        up[k] += step
        down[k] -= step
        numeric[:, k] = (
            nonlinear.rhs_reduced(0.0, up) - nonlinear.rhs_reduced(0.0, down)
        ) / (2 * step)
    assert np.abs(batched - numeric).max() <= 1e-5 * np.abs(numeric).max()
    np.testing.assert_allclose(
        batched, nonlinear.jac_reduced(0.0, x_independent), rtol=1e-9, atol=1e-9
    )


def test_sbml_export_sits_at_the_steady_state(drains, parameters, tmp_path):
    position, ln_km = parameters
    path = tmp_path / "drains.xml"
    export_sbml(drains, position, ln_km, path)
    runner = roadrunner.RoadRunner(path.read_text())
    order = [drains.states.index(sid[2:]) for sid in runner.model.getFloatingSpeciesIds()]
    reaction_ids = [rid[2:] for rid in runner.model.getReactionIds()]
    assert set(_drain_ids(drains)) <= set(reaction_ids)
    expected = dict(zip(drains.reactions, drains.flux[position], strict=True))
    rates = np.asarray(runner.getReactionRates())
    np.testing.assert_allclose(rates, [expected[r] for r in reaction_ids], rtol=1e-9)
    scale = np.abs(drains.stoichiometry) @ np.abs(drains.flux[position])
    assert np.all(np.abs(np.asarray(runner.getRatesOfChange())) <= 1e-9 * scale[order])
    x_ref = NonlinearModel(drains, position, ln_km).x_ref
    result = np.asarray(runner.simulate(0.0, 0.05, 11))
    assert np.abs(result[:, 1:] / x_ref[order] - 1.0).max() <= 1e-6
