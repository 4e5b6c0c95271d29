"""Kinetic models of e_coli_core (glucose, aerobic) on test steady states."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from kinetigen.kinetics import (
    IRREVERSIBLE_MM,
    BatchedJacobian,
    KineticModelError,
    KineticsConfigError,
    KineticsSettings,
    NonlinearModel,
    build_kinetic_model,
    resolve_device,
    validity_threshold,
)
from kinetigen.kinetics.batched import MIN_MATRICES_PER_WORKER
from kinetigen.kinetics.settings import GAS_CONSTANT_KJ
from kinetigen.kinetics.synthetic import synthetic_steady_states
from kinetigen.network import is_water_or_proton

ENV = "glucose_aerobic"
N_SAMPLES = 6


@pytest.fixture(scope="module")
def samples(_textbook, _default_config):
    environment = _default_config["environments"][ENV]
    return synthetic_steady_states(_textbook, ENV, environment, _default_config, N_SAMPLES, seed=11)


@pytest.fixture(scope="module")
def kinetic(_textbook, _default_config, samples):
    return build_kinetic_model(_textbook, samples, _default_config, ENV)


@pytest.fixture(scope="module")
def parameter_sets(kinetic):
    """Random saturations (ORACLE style), one Km set per steady state, plus extreme ones."""
    rng = np.random.default_rng(5)
    positions = np.arange(kinetic.n_steady_states)
    saturation = rng.uniform(0.02, 0.98, size=(len(positions), len(kinetic.parameters)))
    saturation[0] = 0.999  # nearly saturated everywhere
    saturation[1] = 0.001  # nearly linear everywhere
    return positions, kinetic.ln_km_from_saturation(saturation, positions)


def test_structure(kinetic, _textbook, _default_config):
    sizes = kinetic.sizes()
    assert sizes["states"] == len(kinetic.states) > 30
    assert sizes["reactions"] > 30 and sizes["km_parameters"] > sizes["reactions"]
    assert sizes["independent_states"] + sizes["moieties"] == sizes["states"]
    boundary_reactions = {r.id for r in _textbook.boundary}
    assert not boundary_reactions & set(kinetic.reactions)
    laws = {law.reaction: law for law in kinetic.rate_laws}
    assert laws["Biomass_Ecoli_core"].kind == IRREVERSIBLE_MM
    # Biomass saturates once per substrate, water excluded.
    biomass = _textbook.reactions.Biomass_Ecoli_core
    substrates = {m.id for m in biomass.reactants if not is_water_or_proton(m)}
    assert {m for m, _ in laws["Biomass_Ecoli_core"].substrates} == substrates
    assert all(n == 1 for _, n in laws["Biomass_Ecoli_core"].substrates)
    for metabolite in kinetic.states:
        assert _textbook.metabolites.get_by_id(metabolite).compartment == "c"
        assert not is_water_or_proton(_textbook.metabolites.get_by_id(metabolite))
    small = set(_default_config["physiology"]["small_molecules"])
    # Boundary: extracellular metabolites and, held constant by default, the small molecules.
    assert all(m.endswith("_e") or m.rsplit("_", 1)[0] in small for m in kinetic.boundary)
    assert {"nh4_c", "o2_c", "pi_c"} <= set(kinetic.boundary)
    # Small molecules never saturate a reversible law.
    small = set(_default_config["physiology"]["small_molecules"])
    for parameter in kinetic.parameters:
        if laws[parameter.reaction].reversible:
            assert parameter.metabolite.rsplit("_", 1)[0] not in small
        assert parameter.name == f"km_{parameter.reaction}_{parameter.metabolite}"
    # Only metabolites of active reactions are states.
    active = set(kinetic.reactions)
    touched = {m.id for r in _textbook.reactions if r.id in active for m in r.metabolites}
    assert set(kinetic.states) <= touched
    untouched = {m.id for m in _textbook.metabolites} - touched
    assert untouched and not untouched & set(kinetic.states)


def test_rates_reproduce_fluxes_and_steady_state(kinetic, parameter_sets, samples):
    positions, ln_km = parameter_sets
    for position, values in zip(positions, ln_km, strict=True):
        model = NonlinearModel(kinetic, int(position), values)
        rates = model.rates(model.x_ref)
        relative = np.abs(rates / kinetic.flux[position] - 1.0)
        assert relative.max() <= 1e-9
        # Fluxes in mmol/gDW/h times 1e-3 * density are the rates in mol/L/h.
        expected = samples.iloc[position][[f"flux:{r}" for r in kinetic.reactions]].to_numpy(float)
        np.testing.assert_allclose(rates, expected * 0.3, rtol=1e-9)
        scale = np.abs(kinetic.stoichiometry) @ np.abs(rates)
        assert np.all(np.abs(model.rhs(0.0, model.x_ref)) <= 1e-9 * scale)


def test_displacement_matches_sample(kinetic, parameter_sets, samples):
    positions, ln_km = parameter_sets
    rt = GAS_CONSTANT_KJ * 310.15
    reversible = kinetic.layout.reversible
    for position in positions[:3]:
        model = NonlinearModel(kinetic, int(position), ln_km[position])
        gamma = model.displacement(model.x_ref)
        dg = samples.iloc[position][[f"dg:{r}" for r in np.array(kinetic.reactions)[reversible]]]
        np.testing.assert_allclose(gamma[reversible], np.exp(dg.to_numpy(float) / rt), rtol=1e-12)
        # The test samples set dG0 = dG - RT ln Q, so Keq must equal exp(-dG0/RT).
        dg0 = samples.iloc[position][[f"dg0:{r}" for r in np.array(kinetic.reactions)[reversible]]]
        np.testing.assert_allclose(
            model.ln_keq[reversible], -dg0.to_numpy(float) / rt, rtol=1e-10, atol=1e-9
        )


def test_batched_vmax_matches_single_model(kinetic, parameter_sets):
    positions, ln_km = parameter_sets
    out = BatchedJacobian(kinetic).evaluate(ln_km, positions)
    for position in positions:
        model = NonlinearModel(kinetic, int(position), ln_km[position])
        np.testing.assert_allclose(out["vmax"][position].numpy(), model.vmax, rtol=1e-10)


def _central_difference(function, x: np.ndarray, relative_step: float = 1e-6) -> np.ndarray:
    columns = []
    for i in range(len(x)):
        step = relative_step * x[i]
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        columns.append((function(0.0, up) - function(0.0, down)) / (2.0 * step))
    return np.column_stack(columns)


def test_reduced_jacobian_matches_finite_differences(kinetic, parameter_sets):
    positions, ln_km = parameter_sets
    jacobians = BatchedJacobian(kinetic).jacobian(ln_km, positions).numpy()
    for position in positions:
        model = NonlinearModel(kinetic, int(position), ln_km[position])
        numeric = _central_difference(model.rhs_reduced, model.reduce(model.x_ref))
        analytic = jacobians[position]
        error = np.linalg.norm(numeric - analytic) / np.linalg.norm(analytic)
        assert error <= 1e-5
        # Entry-wise as well, relative to each column's scale.
        column_scale = np.abs(analytic).max(axis=0)
        assert np.all(np.abs(numeric - analytic) <= 1e-5 * column_scale)


def test_full_jacobian_matches_finite_differences_away_from_steady_state(kinetic, parameter_sets):
    positions, ln_km = parameter_sets
    model = NonlinearModel(kinetic, 2, ln_km[2])
    x = model.x_ref * np.random.default_rng(9).uniform(0.5, 1.5, size=len(model.x_ref))
    analytic = model.jac(0.0, x)
    numeric = _central_difference(model.rhs, x)
    assert np.linalg.norm(numeric - analytic) / np.linalg.norm(analytic) <= 1e-6
    assert np.abs(model.rhs(0.0, x)).max() > 0.0  # really away from the steady state


def test_no_eigenvalue_artefacts(kinetic, parameter_sets):
    positions, ln_km = parameter_sets
    out = BatchedJacobian(kinetic).evaluate(ln_km, positions)
    for position in positions:
        model = NonlinearModel(kinetic, int(position), ln_km[position])
        full = np.linalg.eigvals(model.jac(0.0, model.x_ref))
        reduced = out["eigenvalues"][position].numpy()
        scale = np.abs(full).max()
        # Exactly one zero eigenvalue per moiety in the full Jacobian, none in the reduced one.
        assert np.sum(np.abs(full) < 1e-10 * scale) == len(kinetic.dependent)
        assert np.abs(reduced).min() > 1e-10 * scale
        # The reduced spectrum is the full one without those zeros.
        nonzero = np.sort_complex(full[np.abs(full) >= 1e-10 * scale])
        np.testing.assert_allclose(np.sort_complex(reduced), nonzero, rtol=1e-7, atol=1e-9 * scale)
        assert out["lambda_max"][position].item() == pytest.approx(reduced.real.max(), rel=1e-12)
    # Reduced stoichiometry has full row rank; moieties annihilate it.
    independent = kinetic.stoichiometry[kinetic.independent]
    assert np.linalg.matrix_rank(independent) == kinetic.n_reduced
    conservation = NonlinearModel(kinetic, 0, ln_km[0]).conservation_matrix
    assert np.abs(conservation @ kinetic.stoichiometry).max() < 1e-12


def test_non_finite_inputs_give_infinity(kinetic, parameter_sets):
    positions, ln_km = parameter_sets
    batch = np.repeat(ln_km[:1], 4, axis=0)
    batch[1, 0] = np.nan
    batch[2, 3] = np.inf
    batch[3, :] = -1e6  # Km -> 0: overflowing saturations
    lambda_max = BatchedJacobian(kinetic).lambda_max(batch, 0)
    assert np.isfinite(lambda_max[0].item())
    assert torch.isinf(lambda_max[1]) and lambda_max[1] > 0
    assert lambda_max[2].item() == math.inf
    assert lambda_max[3].item() == math.inf


def test_shared_index_and_input_checks(kinetic, parameter_sets):
    positions, ln_km = parameter_sets
    evaluator = BatchedJacobian(kinetic)
    reference = evaluator.lambda_max(ln_km, positions)
    # A shared vector with the model's parameters scattered into it.
    order = np.random.default_rng(2).permutation(len(kinetic.parameters) + 7)
    shared_index = order[: len(kinetic.parameters)]
    shared = np.full((len(positions), len(order)), np.nan)
    shared[:, shared_index] = ln_km
    via_shared = BatchedJacobian(kinetic, shared_index=shared_index).lambda_max(shared, positions)
    torch.testing.assert_close(via_shared, reference, rtol=0, atol=0)
    with pytest.raises(ValueError, match="parameters"):
        evaluator.lambda_max(ln_km[:, :-1], positions)
    with pytest.raises(IndexError, match="glucose_aerobic"):
        evaluator.lambda_max(ln_km, positions + 100)


def test_threaded_eigenvalues_match_one_call(kinetic, parameter_sets):
    """Splitting the eigenvalue batch over threads changes nothing, NaN rows included."""
    positions, ln_km = parameter_sets
    repeats = 3 * MIN_MATRICES_PER_WORKER // len(positions) + 1
    positions = np.tile(positions, repeats)
    ln_km = np.tile(ln_km, (repeats, 1))
    ln_km[5, 0] = np.nan
    one_call = BatchedJacobian(kinetic).lambda_max(ln_km, positions)
    threaded = BatchedJacobian(kinetic, cpu_threads=3).lambda_max(ln_km, positions)
    assert len(positions) >= 3 * MIN_MATRICES_PER_WORKER
    assert torch.isinf(threaded[5])
    torch.testing.assert_close(threaded, one_call, rtol=0, atol=0)


def test_device_path(kinetic, parameter_sets):
    positions, ln_km = parameter_sets
    cpu = BatchedJacobian(kinetic).lambda_max(ln_km, positions)
    if torch.cuda.is_available():
        gpu = BatchedJacobian(kinetic, device="cuda").lambda_max(ln_km, positions)
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-8, atol=0)
    else:
        with pytest.raises(KineticsConfigError, match="kinetics.device"):
            resolve_device("cuda")


def test_irreversible_without_thermodynamic_data(_textbook, synthetic_kinetics):
    kinetic, samples = synthetic_kinetics(2, seed=3, env=ENV, without_thermodynamics=["PGK"])
    law = next(law for law in kinetic.rate_laws if law.reaction == "PGK")
    assert law.kind == IRREVERSIBLE_MM and not law.thermodynamic and not law.products
    flux = samples["flux:PGK"].iloc[0]
    consumed = {
        m.id
        for m, c in _textbook.reactions.PGK.metabolites.items()
        if np.sign(flux) * c < 0 and not is_water_or_proton(m)
    }
    assert {m for m, _ in law.substrates} == consumed
    ln_km = kinetic.ln_km_from_saturation(np.full((1, len(kinetic.parameters)), 0.4), [0])[0]
    model = NonlinearModel(kinetic, 0, ln_km)
    np.testing.assert_allclose(model.rates(model.x_ref), kinetic.flux[0], rtol=1e-9)
    numeric = _central_difference(model.rhs_reduced, model.reduce(model.x_ref))
    analytic = BatchedJacobian(kinetic).jacobian(ln_km, 0)[0].numpy()
    assert np.linalg.norm(numeric - analytic) / np.linalg.norm(analytic) <= 1e-5


def test_bad_input_names_the_culprit(_textbook, _default_config, samples):
    flipped = samples.copy()
    flipped.loc[1, "flux:PGI"] = -flipped.loc[1, "flux:PGI"]
    with pytest.raises(KineticModelError, match="PGI"):
        build_kinetic_model(_textbook, flipped, _default_config, ENV)
    wrong_sign = samples.copy()
    wrong_sign.loc[2, "dg:PGI"] = -wrong_sign.loc[2, "dg:PGI"]
    with pytest.raises(KineticModelError, match="PGI.*second law"):
        build_kinetic_model(_textbook, wrong_sign, _default_config, ENV)
    with pytest.raises(KineticModelError, match="g6p_c"):
        build_kinetic_model(_textbook, samples.drop(columns="lnc:g6p_c"), _default_config, ENV)
    config = dict(_default_config, biomass_reaction="NO_SUCH_REACTION")
    with pytest.raises(KineticModelError, match="biomass_reaction"):
        build_kinetic_model(_textbook, samples, config, ENV)
    with pytest.raises(KineticsConfigError, match=r"kinetics.threshold.*factr"):
        KineticsSettings.from_config(dict(_default_config, kinetics={"threshold": {"factr": 2}}))


def test_validity_threshold(kinetic, _default_config):
    growth = kinetic.growth_rate
    np.testing.assert_allclose(
        kinetic.threshold, -math.log(0.5 / 0.01) * growth / math.log(2.0), rtol=1e-14
    )
    # Doubling time ln2/mu; the dominant time constant -1/lambda_thr is 1/ln(50) of it.
    np.testing.assert_allclose(
        -1.0 / kinetic.threshold, math.log(2.0) / growth / math.log(50.0), rtol=1e-12
    )
    fixed = KineticsSettings.from_config(
        dict(_default_config, kinetics={"threshold": {"fixed_per_h": -2.5}})
    )
    np.testing.assert_array_equal(validity_threshold(growth, fixed), np.full_like(growth, -2.5))
    assert isinstance(kinetic.sample_ids, list) and isinstance(
        pd.Series(kinetic.sample_ids).iloc[0], (int, np.integer)
    )
