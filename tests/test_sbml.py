"""SBML export checked by an independent simulator (libRoadRunner)."""

from __future__ import annotations

import libsbml
import numpy as np
import pytest
import roadrunner
from scipy.integrate import solve_ivp
from scipy.optimize import linear_sum_assignment

from kinetigen.kinetics import (
    BatchedJacobian,
    NonlinearModel,
    build_kinetic_model,
    export_oracle_models,
    export_sbml,
    oracle_baseline,
    sbml_string,
)
from kinetigen.kinetics.synthetic import toy_kinetic_model

ENV = "glucose_aerobic"


@pytest.fixture(scope="module")
def ecoli(synthetic_kinetics):
    return synthetic_kinetics(3, seed=31, env=ENV)


@pytest.fixture(scope="module")
def ecoli_parameters(ecoli):
    model, _ = ecoli
    saturation = np.random.default_rng(12).uniform(0.05, 0.95, size=(1, len(model.parameters)))
    return 1, model.ln_km_from_saturation(saturation, [1])[0]


def _runner(text: str) -> roadrunner.RoadRunner:
    runner = roadrunner.RoadRunner(text)
    # RoadRunner's Jacobian is a finite difference with a relative step (default 0.02) whose
    # truncation error (~1e-5) is above the 1e-6 tolerance; 1e-3 puts it near 1e-11.
    runner.setDiffStepSize(1e-3)
    return runner


def _state_order(runner: roadrunner.RoadRunner, model) -> list[int]:
    return [model.states.index(sid[2:]) for sid in runner.model.getFloatingSpeciesIds()]


def _match_eigenvalues(expected: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Relative distance of each expected eigenvalue to its partner (optimal matching)."""
    cost = np.abs(expected[:, None] - found[None, :]) / np.abs(expected)[:, None]
    rows, cols = linear_sum_assignment(cost)
    return cost[rows, cols]


def test_document_is_valid_sbml_with_units():
    model = toy_kinetic_model(1)
    ln_km = np.log(np.full(len(model.parameters), 1e-3))
    document = libsbml.readSBMLFromString(sbml_string(model, 0, ln_km))
    assert document.getNumErrors() == 0
    assert document.checkConsistency() == 0 or all(
        document.getError(i).getSeverity() < libsbml.LIBSBML_SEV_ERROR
        for i in range(document.getNumErrors())
    )
    sbml = document.getModel()
    assert sbml.getTimeUnits() == "hour" and sbml.getSubstanceUnits() == "mole"
    assert sbml.getVolumeUnits() == "litre"
    hour = sbml.getUnitDefinition("hour").getUnit(0)
    assert hour.getKind() == libsbml.UNIT_KIND_SECOND and hour.getMultiplier() == 3600.0
    species = {s.getId(): s for s in sbml.getListOfSpecies()}
    assert not species["M_a_c"].getBoundaryCondition()
    assert species["M_a_c"].getInitialConcentration() == pytest.approx(2e-4)
    for constant in ("M_s_e", "M_p_e", "M_h_c"):
        assert species[constant].getBoundaryCondition() and species[constant].getConstant()
    parameters = {p.getId() for p in sbml.getListOfParameters()}
    assert set(model.parameter_names) <= parameters
    assert {"Vmax_UPT", "Keq_UPT", "Vmax_OUT"} <= parameters and "Keq_OUT" not in parameters
    assert not sbml.getReaction("R_OUT").getReversible()


def test_toy_model_simulates_like_scipy(tmp_path):
    model = toy_kinetic_model(1)
    ln_km = np.log(np.geomspace(1e-4, 1e-2, len(model.parameters)))
    path = tmp_path / "toy.xml"
    export_sbml(model, 0, ln_km, path)
    runner = _runner(path.read_text())
    nonlinear = NonlinearModel(model, 0, ln_km)
    order = _state_order(runner, model)
    # Perturb (keeping moieties is not needed for agreement) and integrate both ways.
    x0 = nonlinear.x_ref * np.array([1.5, 0.7, 1.2, 0.9, 1.1])
    for sid, value in zip(runner.model.getFloatingSpeciesIds(), x0[order], strict=True):
        runner.setValue(f"[{sid}]", float(value))
    runner.integrator.relative_tolerance = 1e-10
    runner.integrator.absolute_tolerance = 1e-16
    result = runner.simulate(0.0, 0.05, 6)
    reference = solve_ivp(
        nonlinear.rhs,
        (0.0, 0.05),
        x0,
        method="BDF",
        jac=nonlinear.jac,
        rtol=1e-10,
        atol=1e-16,
        t_eval=np.linspace(0.0, 0.05, 6),
    )
    assert reference.success
    np.testing.assert_allclose(np.asarray(result)[:, 1:], reference.y[order].T, rtol=1e-5)
    assert np.abs(reference.y[:, -1] - x0).max() > 1e-3 * x0.min()  # it did move


def test_ecoli_model_in_roadrunner(ecoli, ecoli_parameters, tmp_path):
    model, _ = ecoli
    position, ln_km = ecoli_parameters
    path = tmp_path / "ecoli.xml"
    export_sbml(model, position, ln_km, path)
    runner = _runner(path.read_text())
    nonlinear = NonlinearModel(model, position, ln_km)
    order = _state_order(runner, model)
    assert len(order) == len(model.states)

    # Reaction rates are the sample's fluxes and the state does not move.
    reaction_ids = [rid[2:] for rid in runner.model.getReactionIds()]
    expected = dict(zip(model.reactions, model.flux[position], strict=True))
    rates = np.asarray(runner.getReactionRates())
    np.testing.assert_allclose(rates, [expected[r] for r in reaction_ids], rtol=1e-9)
    scale = np.abs(model.stoichiometry) @ np.abs(model.flux[position])
    assert np.all(np.abs(np.asarray(runner.getRatesOfChange())) <= 1e-9 * scale[order])
    result = np.asarray(runner.simulate(0.0, 0.05, 11))
    drift = np.abs(result[:, 1:] / nonlinear.x_ref[order] - 1.0).max()
    assert drift <= 1e-6

    # Jacobian: entries and spectrum agree with kinetigen's.
    runner.reset()
    full = np.asarray(runner.getFullJacobian())
    analytic = nonlinear.jac(0.0, nonlinear.x_ref)[np.ix_(order, order)]
    assert np.abs(full - analytic).max() <= 1e-6 * np.abs(analytic).max()
    reduced = BatchedJacobian(model).evaluate(ln_km, position)["eigenvalues"][0].numpy()
    found = np.linalg.eigvals(full)
    # Drop the moieties' zero eigenvalues (the smallest in magnitude) from roadrunner's set.
    found = found[np.argsort(np.abs(found))][len(model.dependent) :]
    assert _match_eigenvalues(reduced, found).max() <= 1e-6


def test_export_oracle_models(_textbook, _default_config, ecoli, tmp_path):
    model, samples = ecoli
    config = dict(
        _default_config,
        kinetics={
            "oracle": {"n_parameter_sets": 60, "batch_size": 25},
            "split": {"n_train": 1, "n_evaluation": len(samples) - 1, "gap": 1},
        },
    )
    oracle_model = build_kinetic_model(_textbook, samples, config, ENV)
    frame, _ = oracle_baseline(oracle_model, seed=3)
    paths = export_oracle_models(oracle_model, frame, tmp_path, seed=3)
    assert 1 <= len(paths) <= 3 and all(p.exists() for p in paths)
    index = int(paths[0].stem.rsplit("_", 1)[1])
    row = frame.set_index("sample").loc[index]
    runner = _runner(paths[0].read_text())
    found = np.linalg.eigvals(np.asarray(runner.getFullJacobian()))
    found = found[np.argsort(np.abs(found))][len(model.dependent) :]  # drop the moieties' zeros
    # The file holds the same parameter set the ORACLE run scored.
    assert found.real.max() == pytest.approx(row["lambda_max"], rel=1e-6, abs=1e-6)
