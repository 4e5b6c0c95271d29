"""The analysis stage on e_coli_core: control tables and checks, fluxes of interest, enzyme
perturbations against the linear prediction, and the figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kinetigen.analysis.perturbations import (
    AnalysisError,
    EnzymeChange,
    PerturbationTask,
    enzyme_perturbations,
    flux_targets,
)
from kinetigen.analysis.stage import (
    _summary_rows,
    control_analysis,
    fluxes_of_interest,
    group_agreement,
    main_substrate_uptake,
    perturbation_analysis,
)
from kinetigen.config import validate_config
from kinetigen.io import write_csv, write_json, write_parquet
from kinetigen.kinetics import BatchedJacobian, build_kinetic_model
from kinetigen.kinetics.synthetic import synthetic_steady_states
from kinetigen.plots.analysis import make_analysis_figures
from kinetigen.settings import AnalysisSettings
from kinetigen.validation.ensembles import ModelSet

N_SAMPLES = 4


@pytest.fixture(scope="module", params=["glucose_aerobic", "acetate_aerobic"])
def setup(request, _textbook, _default_config):
    env = request.param
    config = validate_config(dict(_default_config))
    samples = synthetic_steady_states(
        _textbook, env, config["environments"][env], config, N_SAMPLES, seed=3
    )
    model = build_kinetic_model(_textbook, samples, config, env)
    rng = np.random.default_rng(1)
    sets = []
    for group in ("generated", "oracle"):
        positions = np.arange(200) % N_SAMPLES
        saturation = rng.uniform(0.05, 0.95, size=(200, len(model.parameters)))
        ln_km = model.ln_km_from_saturation(saturation, positions)
        lambda_max = BatchedJacobian(model).lambda_max(ln_km, positions).numpy()
        valid = lambda_max < model.threshold[positions]
        keep = np.flatnonzero(valid)[:12]
        sets.append(
            ModelSet(
                group, positions[keep], ln_km[keep], lambda_max[keep], model.threshold[keep % 4]
            )
        )
    return env, _textbook, samples, model, sets


def test_main_substrate_uptake(setup):
    env, cobra_model, samples, _, _ = setup
    expected = {"glucose_aerobic": "EX_glc__D_e", "acetate_aerobic": "EX_ac_e"}[env]
    assert main_substrate_uptake(cobra_model, samples) == expected


def test_control_tables_and_checks(setup):
    env, cobra_model, samples, model, sets = setup
    settings = AnalysisSettings(fluxes=("EX_co2_e",))
    table, summary, checks = control_analysis(model, cobra_model, samples, sets, settings, 0)
    assert list(table.columns) == ["group", "model", "kind", "target", "enzyme", "coefficient"]
    uptake = main_substrate_uptake(cobra_model, samples)
    assert checks["fluxes_of_interest"][:2] == [model.settings.biomass_reaction, uptake]
    # CO2 is held constant (a small molecule): its exchange is no flux of the kinetic model.
    assert checks["skipped_fluxes"] == ["EX_co2_e"]
    n_flux_targets = len(model.reactions) + 1  # the uptake exchange is not a kinetic reaction
    per_model = (n_flux_targets + len(model.states)) * len(model.reactions)
    assert len(table) == 2 * 12 * per_model
    # Summation holds for the combined exchange fluxes too.
    flux = table[(table["kind"] == "flux") & (table["target"] == uptake)]
    sums = flux.groupby(["group", "model"], observed=True)["coefficient"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-8)
    for group in ("generated", "oracle"):
        found = checks["groups"][group]
        assert found["status"]["ok"] == 12
        assert found["theorems_hold_1e-8"]
        assert max(found["max_residual"].values()) < 1e-8
        fd = found["finite_differences"]
        assert fd["models"] == 3 and fd["failed_solves"] == 0
        assert fd["max_relative_error_flux"] <= 1e-3 and fd["agrees_within_1e-3"]
    # The summary's median and rank agree with the long table.
    growth = summary[
        (summary["group"] == "oracle") & (summary["target"] == model.settings.biomass_reaction)
    ]
    top = growth.sort_values("rank").iloc[0]
    values = table[
        (table["group"] == "oracle")
        & (table["target"] == model.settings.biomass_reaction)
        & (table["enzyme"] == top["enzyme"])
    ]["coefficient"]
    assert top["median"] == pytest.approx(values.median())
    assert top["median_abs"] == growth["median_abs"].max()
    assert 0 <= top["fraction_positive"] <= 1 and top["q25"] <= top["median"] <= top["q75"]


def test_flux_not_in_the_kinetic_model_is_named(setup):
    env, cobra_model, samples, model, _ = setup
    inactive = next(
        r.id
        for r in cobra_model.reactions
        if r.id not in model.reactions and r not in cobra_model.boundary
    )
    with pytest.raises(AnalysisError, match=rf"{env}.*flux '{inactive}' is not in the kinetic"):
        flux_targets(model, cobra_model, [inactive])
    targets, skipped = fluxes_of_interest(
        model, cobra_model, samples, AnalysisSettings(fluxes=(inactive,))
    )
    assert skipped == [inactive] and inactive not in targets.names
    with pytest.raises(AnalysisError, match=rf"enzyme '{inactive}'.*not in the kinetic model"):
        enzyme_perturbations(model, [], [EnzymeChange((inactive,), 2.0)], targets)


def test_small_changes_match_the_linear_prediction(setup):
    env, cobra_model, samples, model, sets = setup
    settings = AnalysisSettings(
        perturbations=(
            {"reactions": ["GAPD"], "fold": 1.01},
            {"reactions": ["CS", "ICDHyr"], "fold": 0.99},
            {"reactions": ["GAPD"], "fold": 1.0},
        ),
        perturbation_models=3,
    )
    table, summary = perturbation_analysis(model, cobra_model, samples, sets, settings)
    assert len(table) == 2 * 3 * 3 * 2  # groups x models x changes x fluxes of interest
    assert table["reached"].all(), table["reason"].unique()
    unchanged = table[table["fold"] == 1.0]
    np.testing.assert_allclose(unchanged["fold_change"], 1.0, atol=1e-8)
    assert (unchanged["time_to_settle_h"] == 0).all()
    small = table[table["fold"] != 1.0]
    # Second order in ln fold: ln(1.01)^2 = 1e-4; the linear part itself is up to 1e-2.
    error = np.abs(np.log(small["fold_change"]) - np.log(small["linear_fold_change"]))
    assert error.max() < 2e-4, error.max()
    assert np.abs(np.log(small["fold_change"])).max() > 1e-3  # the changes do move the fluxes
    np.testing.assert_allclose(
        small["flux_after"], small["flux_before"] * small["fold_change"], rtol=1e-12
    )
    assert set(summary["fraction_reached"]) == {1.0}
    assert (summary["n_models"] == 3).all()


def test_near_knockout_reports_an_outcome(setup):
    env, cobra_model, samples, model, sets = setup
    changes = [EnzymeChange(("GAPD",), 0.05), EnzymeChange(("GAPD",), 5.0)]
    targets, _ = fluxes_of_interest(model, cobra_model, samples, AnalysisSettings())
    set_ = sets[0]
    tasks = [
        PerturbationTask(
            "generated",
            i,
            int(set_.positions[i]),
            set_.ln_km[i],
            np.zeros((len(targets.names), len(model.reactions))),
            np.log(2) / model.growth_rate[set_.positions[i]],
        )
        for i in range(3)
    ]
    table = enzyme_perturbations(model, tasks, changes, targets, processes=2)
    reached = table[table["reached"]]
    assert (reached["reason"].fillna("") == "").all()
    assert (reached["lambda_max_after"] < 0).all() and np.isfinite(reached["fold_change"]).all()
    missed = table[~table["reached"]]
    assert missed["fold_change"].isna().all() and (missed["reason"].str.len() > 0).all()
    # A tenth of glycolysis' capacity cuts growth on glucose when a steady state is reached.
    if env == "glucose_aerobic" and len(reached):
        knocked = reached[(reached["fold"] == 0.05) & (reached["target"] == targets.names[0])]
        assert (knocked["fold_change"] < 1).all()


def test_analysis_figures_are_drawn(setup, tmp_path):
    env, cobra_model, samples, model, sets = setup
    settings = AnalysisSettings(perturbation_models=2)
    table, summary, checks = control_analysis(model, cobra_model, samples, sets, settings, 0)
    perturbations, _ = perturbation_analysis(model, cobra_model, samples, sets, settings)
    inputs: dict[str, list[str]] = {
        "summaries": [],
        "coefficients": [],
        "checks": [],
        "perturbations": [],
    }
    for name in ("env_a", "env_b"):
        folder = tmp_path / name
        for key, file, writer, data in (
            ("coefficients", "control_coefficients.parquet", write_parquet, table),
            ("summaries", "control_summary.csv", write_csv, summary),
            ("checks", "control_checks.json", write_json, checks),
            ("perturbations", "enzyme_perturbations.csv", write_csv, perturbations),
        ):
            writer(data, folder / file)
            inputs[key].append(str(folder / file))
    outputs = {
        name: str(tmp_path / f"{name}.png")
        for name in ("control_top", "control_heatmap", "enzyme_perturbations")
    }
    make_analysis_figures(inputs, outputs, 4)
    for path in outputs.values():
        assert (tmp_path / path).stat().st_size > 10_000
        assert (tmp_path / path).with_suffix(".pdf").exists()
    assert isinstance(pd.read_csv(inputs["summaries"][0]), pd.DataFrame)


def test_agreement_of_the_groups(setup):
    env, cobra_model, samples, model, sets = setup
    oracle = sets[1]
    twin = ModelSet(
        "generated", oracle.positions, oracle.ln_km, oracle.lambda_max, oracle.threshold
    )
    _, _, checks = control_analysis(model, cobra_model, samples, [twin, oracle], {}, 0)
    growth = checks["agreement"][model.settings.biomass_reaction]
    assert growth["shared_top"] == 3 and growth["max_shift_iqr"] == 0
    assert growth["top"]["generated"] == growth["top"]["oracle"]
    _, _, checks = control_analysis(model, cobra_model, samples, sets, {}, 0)
    different = checks["agreement"][model.settings.biomass_reaction]
    assert different["max_shift_iqr"] > 0 and len(different["top"]["generated"]) == 3


def test_a_group_without_usable_models_leaves_an_empty_summary_not_a_crash():
    # Every model's coefficients NaN (e.g. all flagged ill-conditioned): the summary keeps
    # its columns, and the generated / ORACLE agreement has nothing to compare.
    values = np.full((3, 2, 2), np.nan)
    summary = pd.concat(
        [
            _summary_rows(group, "flux", values, ["a", "b"], ["a", "b"], ["a"])
            for group in ("generated", "oracle")
        ]
    )
    assert summary.empty and {"group", "kind", "target", "rank"} <= set(summary.columns)
    assert group_agreement(summary, ["a"]) == {}


def test_too_few_oracle_models_give_no_shift_in_iqrs():
    # One ORACLE-valid model has an IQR of 0: a shift in its units would be meaningless.
    rng = np.random.default_rng(0)
    summary = pd.concat(
        [
            _summary_rows(group, "flux", rng.normal(size=(n, 1, 4)), ["a"], list("wxyz"), ["a"])
            for group, n in (("generated", 20), ("oracle", 1))
        ]
    )
    agreement = group_agreement(summary, ["a"])["a"]
    assert agreement["n_models"] == {"generated": 20, "oracle": 1}
    assert agreement["max_shift_iqr"] is None and agreement["shift_iqr"] is None
    assert "1 ORACLE-valid model" in agreement["shift_note"]
    assert len(agreement["top"]["oracle"]) == 3  # the rankings are still compared
