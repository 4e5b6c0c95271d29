"""TFA on e_coli_core: loop blocking, growth, reference profile, variability, relaxation."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
from cobra.flux_analysis import flux_variability_analysis
from cobra.util import create_stoichiometric_matrix

from kinetigen.network import (
    InvalidEnvironment,
    apply_environment,
    is_water_or_proton,
    load_network,
)
from kinetigen.sampling import (
    InfeasibleTFA,
    ThermoEnvironment,
    apply_relaxation,
    build_tfa_problem,
    dg0_marginal_std,
    maximize_growth,
    run_tfa,
    sample_steady_states,
    thermodynamic_variability,
    uncertainty_basis,
    variability_targets,
)
from kinetigen.sampling.loops import directional_loops
from kinetigen.sampling.solver import HighsMILP
from kinetigen.thermo import ReactionEnergies

BIOMASS = "Biomass_Ecoli_core"


def _problem(model, energies, config, env_name="glucose_aerobic", environment=None, **tfa):
    env = ThermoEnvironment.from_config(model, energies, config, env_name, environment)
    return build_tfa_problem(env, dict(config["tfa"], **tfa))


def _run(model, energies, config, env_name, environment=None, variability=False, **kwargs):
    env = ThermoEnvironment.from_config(model, energies, config, env_name, environment)
    return run_tfa(env, dict(config["tfa"], variability=variability), **kwargs)


def _force_forward(problem, reaction_id, flux=0.1):
    problem.model.reactions.get_by_id(reaction_id).lower_bound = flux


# ------------------------------------------------------------------------------------------
# Loops


def test_frd7_and_sucdi_never_both_carry_forward_flux(textbook_model, textbook_energies,
                                                       default_config):
    # FRD7 (fum + q8h2 -> succ + q8) and SUCDi (the reverse) form a cycle. Give both a
    # dG'0 mean of 0 so that each alone is thermodynamically possible; together they must
    # stay impossible, while plain FBA happily runs the loop.
    table = textbook_energies.table.copy()
    table.loc[["FRD7", "SUCDi"], "dg0_mean_kJ"] = 0.0
    energies = ReactionEnergies(table=table, sqrt_cov=textbook_energies.sqrt_cov)

    with textbook_model as fba:
        apply_environment(fba, "glucose_aerobic", default_config["environments"]["glucose_aerobic"])
        fba.reactions.FRD7.lower_bound = 0.1
        fba.reactions.SUCDi.lower_bound = 0.1
        assert fba.slim_optimize() > 0.1  # the loop is fine without thermodynamics

    statuses = {}
    for forced in (["FRD7"], ["SUCDi"], ["FRD7", "SUCDi"]):
        problem = _problem(textbook_model, energies, default_config)
        for reaction_id in forced:
            _force_forward(problem, reaction_id)
        statuses[tuple(forced)] = maximize_growth(problem)
    assert statuses[("FRD7",)][0] == "optimal" and statuses[("FRD7",)][1] > 0.1
    assert statuses[("SUCDi",)][0] == "optimal" and statuses[("SUCDi",)][1] > 0.1
    assert statuses[("FRD7", "SUCDi")][0] == "infeasible"


def test_no_flux_without_exchange_loop_only(textbook_model, textbook_energies, default_config):
    # With every exchange closed and no maintenance demand, only internal loops could carry
    # flux: FBA finds thousands of mmol/gDW/h of them, TFA must find none.
    closed = {r.id: [0.0, 0.0] for r in textbook_model.exchanges}
    closed["ATPM"] = [0.0, 1000.0]
    environment = {"reaction_bounds": closed, "concentrations": {}}
    problem = _problem(textbook_model, textbook_energies, default_config, "closed", environment)
    # forward + reverse of every constrained reaction (F and R cannot both be positive there)
    total = {
        variable: 1.0
        for reaction_id in problem.env.constrained
        for variable in (
            problem.model.reactions.get_by_id(reaction_id).forward_variable,
            problem.model.reactions.get_by_id(reaction_id).reverse_variable,
        )
    }

    with textbook_model as fba:
        apply_environment(fba, "closed", environment)
        fba.objective = fba.problem.Objective(
            sum(
                fba.reactions.get_by_id(r).forward_variable
                + fba.reactions.get_by_id(r).reverse_variable
                for r in problem.env.constrained
            ),
            direction="max",
        )
        assert fba.slim_optimize() > 1000.0

    solution = problem.optimize(total, "max")
    assert solution.optimal
    assert solution.objective == pytest.approx(0.0, abs=1e-6)
    assert problem.net_fluxes(solution.values).abs().max() < 1e-9


# ------------------------------------------------------------------------------------------
# Growth, summary and reference profile


@pytest.mark.parametrize("env_name", ["glucose_aerobic", "glucose_anaerobic"])
def test_tfa_growth_is_positive_and_not_above_fba(textbook_model, textbook_energies,
                                                  default_config, env_name):
    summary, variability = _run(textbook_model, textbook_energies, default_config, env_name)
    assert variability is None
    assert 0 < summary["tfa_growth"] <= summary["fba_growth"] + 1e-6
    fraction = default_config["tfa"]["min_growth_fraction"]
    assert summary["min_growth"] == pytest.approx(fraction * summary["tfa_growth"])
    json.dumps(summary)  # JSON-serialisable as the workflow writes it
    reactions = {r.id for r in textbook_model.reactions}
    assert set(summary["directionality"]) == reactions
    assert set(summary["directionality"].values()) <= {-1, 0, 1}
    reasons = {row["reaction"]: row["reason"] for row in summary["unconstrained_reactions"]}
    assert summary["n_unconstrained"] == len(reasons)
    assert summary["n_constrained"] + summary["n_unconstrained"] == len(reactions)
    assert BIOMASS in reasons and "EX_glc__D_e" in reasons
    assert "identically zero" in reasons["H2Ot"]  # water transport: dG = 0 by construction
    assert summary["solver"] == "hybrid"


def test_anaerobic_growth_is_slower_than_aerobic(textbook_model, textbook_energies,
                                                 default_config):
    aerobic, _ = _run(textbook_model, textbook_energies, default_config, "glucose_aerobic")
    anaerobic, _ = _run(textbook_model, textbook_energies, default_config, "glucose_anaerobic")
    assert anaerobic["tfa_growth"] < 0.5 * aerobic["tfa_growth"]
    assert anaerobic["directionality"]["CYTBD"] == 0  # no oxygen, no respiration


def test_reference_is_a_thermodynamically_feasible_steady_state(textbook_model,
                                                                textbook_energies,
                                                                default_config):
    config = default_config
    sampling = config["sampling"]
    summary, _ = _run(textbook_model, textbook_energies, config, "glucose_aerobic",
                      sampling=sampling)
    reference = summary["reference"]
    reactions = [r.id for r in textbook_model.reactions]
    fluxes = np.array([reference["flux"][r] for r in reactions])
    stoichiometry = create_stoichiometric_matrix(textbook_model)
    assert np.abs(stoichiometry @ fluxes).max() < 1e-6
    assert reference["flux"][BIOMASS] >= summary["min_growth"] - 1e-9
    for reaction_id, dg in reference["dg"].items():
        sign = summary["directionality"][reaction_id]
        if sign:
            assert sign * dg <= -sampling["min_abs_dg_kJ"] + 1e-6, reaction_id
            assert abs(reference["flux"][reaction_id]) >= sampling["min_abs_flux"] - 1e-9
    # ln c of the fixed extracellular glucose sits at its environment value
    assert reference["lnc"]["glc__D_e"] == pytest.approx(math.log(0.02))


def test_margin_reactions_limit_the_margins_to_the_listed_reactions(
    textbook_model, textbook_energies, default_config
):
    """sampling.margin_reactions: margins too large for the whole network (here |v| >= 3
    for every active reaction: CS and GLNS cannot) hold on the listed reactions only."""
    sampling = dict(default_config["sampling"], min_abs_flux=3.0)
    with pytest.raises(RuntimeError, match="reference TFA problem.*infeasible.*margins"):
        _run(textbook_model, textbook_energies, default_config, "glucose_aerobic",
             sampling=sampling)
    listed = ["PFK", "GAPD", "ENO", "FRD7"]  # FRD7 is inactive: a margin binds active ones
    summary, _ = _run(textbook_model, textbook_energies, default_config, "glucose_aerobic",
                      sampling=dict(sampling, margin_reactions=listed))
    assert summary["reference_margins"]["margin_reactions"] == listed
    reference, profile = summary["reference"], summary["directionality"]
    for reaction_id in listed:
        if profile[reaction_id]:
            assert abs(reference["flux"][reaction_id]) >= 3.0 - 1e-9
            assert profile[reaction_id] * reference["dg"][reaction_id] <= -0.5 + 1e-6
    assert 0 < abs(reference["flux"]["CS"]) < 3.0
    env = ThermoEnvironment.from_config(
        textbook_model, textbook_energies, default_config, "glucose_aerobic"
    )
    with pytest.raises(ValueError, match=r"sampling.margin_reactions.*NOPE"):
        run_tfa(env, dict(default_config["tfa"], variability=False),
                sampling=dict(sampling, margin_reactions=["PFK", "NOPE"]))
    # Sampling binds the margins on every active reaction: it refuses the list, clearly.
    with pytest.raises(ValueError, match=r"sampling.margin_reactions.*only the TFA reference"):
        sample_steady_states(env, default_config["tfa"], dict(sampling, margin_reactions=listed),
                             profile, seed=0)


def test_min_total_flux_reference_is_leaner_than_max_growth(textbook_model, textbook_energies,
                                                            default_config):
    lean, _ = _run(textbook_model, textbook_energies, default_config, "glucose_aerobic")
    config = copy.deepcopy(default_config)
    config["tfa"]["directionality"] = "max_growth"
    greedy, _ = _run(textbook_model, textbook_energies, config, "glucose_aerobic")
    assert greedy["reference"]["flux"][BIOMASS] == pytest.approx(greedy["tfa_growth"], rel=1e-6)
    total = {
        name: sum(abs(v) for v in summary["reference"]["flux"].values())
        for name, summary in (("lean", lean), ("greedy", greedy))
    }
    assert total["lean"] < total["greedy"]


def test_glpk_gives_the_same_tfa_optimum(textbook_energies, default_config):
    growth = {}
    for solver in ("hybrid", "glpk"):
        model = load_network("textbook", solver=solver)
        growth[solver] = maximize_growth(_problem(model, textbook_energies, default_config))[1]
    assert growth["glpk"] == pytest.approx(growth["hybrid"], rel=1e-6)


# ------------------------------------------------------------------------------------------
# Variability


VARIABILITY_TARGETS = [
    "flux:PGI", "flux:SUCDi", "flux:FRD7", "flux:EX_glc__D_e", f"flux:{BIOMASS}",
    "dg:PGI", "dg:GLCpts", "dg:FRD7", "lnc:g6p_c", "lnc:glc__D_e",
]


def test_variability_matches_glpk_and_lies_within_fba(textbook_energies, default_config):
    # HiGHS with warm starts and skipped problems against GLPK solving every MILP afresh.
    min_growth = 0.4
    tables = {}
    for solver in ("hybrid", "glpk"):
        model = load_network("textbook", solver=solver)
        problem = _problem(model, textbook_energies, default_config)
        tables[solver] = thermodynamic_variability(problem, min_growth, VARIABILITY_TARGETS)
    highs, glpk = (tables[s].set_index("variable") for s in ("hybrid", "glpk"))
    assert list(highs.columns) == ["kind", "id", "minimum", "maximum"]
    assert list(highs.index) == VARIABILITY_TARGETS
    scale = np.maximum(1.0, np.abs(glpk[["minimum", "maximum"]].to_numpy()))
    assert np.all(np.abs(highs[["minimum", "maximum"]] - glpk[["minimum", "maximum"]]) <= 2e-4
                  * scale)

    model = load_network("textbook")
    apply_environment(model, "glucose_aerobic", default_config["environments"]["glucose_aerobic"])
    model.reactions.get_by_id(BIOMASS).lower_bound = min_growth
    fva = flux_variability_analysis(model, ["PGI", "SUCDi", "FRD7", "EX_glc__D_e"],
                                    fraction_of_optimum=0.0)
    for reaction_id, row in fva.iterrows():
        tfa_row = highs.loc[f"flux:{reaction_id}"]
        assert row["minimum"] - 1e-6 <= tfa_row["minimum"] <= tfa_row["maximum"]
        assert tfa_row["maximum"] <= row["maximum"] + 1e-6
    # thermodynamics cut something FBA allows: FRD7 needs dG < 0 but its dG'0 is ~ +74 kJ/mol
    assert fva.loc["FRD7", "maximum"] > 1.0
    assert highs.loc["flux:FRD7", "maximum"] == pytest.approx(0.0, abs=1e-9)
    assert highs.loc["dg:FRD7", "minimum"] > 0
    assert highs.loc[f"flux:{BIOMASS}", "minimum"] == pytest.approx(min_growth)
    assert highs.loc["lnc:glc__D_e", "minimum"] == pytest.approx(math.log(0.02))
    assert highs.loc["lnc:glc__D_e", "maximum"] == pytest.approx(math.log(0.02))
    # glucose uptake is forced (growth needs carbon), so its dG stays negative
    assert highs.loc["dg:GLCpts", "maximum"] < 0


def test_variability_rejects_unknown_targets(textbook_model, textbook_energies, default_config):
    problem = _problem(textbook_model, textbook_energies, default_config)
    targets = variability_targets(problem)
    n_lnc = sum(not is_water_or_proton(m) for m in textbook_model.metabolites)
    assert len(targets) == len(textbook_model.reactions) + len(problem.env.constrained) + n_lnc
    assert "flux:PGI" in targets and "dg:PGI" in targets and "lnc:g6p_c" in targets
    assert "dg:EX_glc__D_e" not in targets and "lnc:h2o_c" not in targets
    with pytest.raises(ValueError, match="dg:EX_glc__D_e"):
        thermodynamic_variability(problem, 0.1, ["dg:EX_glc__D_e"])


# ------------------------------------------------------------------------------------------
# Uncertainty basis


def test_uncertainty_basis_keeps_the_covariance(textbook_energies):
    constrained = textbook_energies.constrained
    basis = uncertainty_basis(textbook_energies, constrained).to_numpy()
    raw = textbook_energies.sqrt_cov.loc[constrained].to_numpy()
    assert basis.shape[1] == np.linalg.matrix_rank(raw)
    assert np.allclose(basis @ basis.T, raw @ raw.T, atol=1e-8)
    # the point of it: a far tighter box per reaction than the raw 600-column basis
    assert np.median(np.abs(basis).sum(axis=1)) < 0.5 * np.median(np.abs(raw).sum(axis=1))



def _widest_dg0(problem, reactions):
    """max |dG'0_j - mean_j| / sigma_j that the MILP allows, per reaction."""
    milp = HighsMILP(problem.model)
    std = dg0_marginal_std(problem.env.basis)
    widest = {}
    for reaction_id in reactions:
        coefficients = {
            milp.index[problem.uncertainty[column].name]: value
            for column, value in problem.env.basis.loc[reaction_id].items()
            if value != 0
        }
        ends = []
        for direction in ("min", "max"):
            status, value, _ = milp.solve_array(coefficients, direction)
            assert status == "optimal"
            ends.append(abs(value))
        widest[reaction_id] = max(ends) / std[reaction_id]
    return pd.Series(widest)


def test_dg0_band_keeps_each_reaction_within_z_marginal_std(textbook_model, textbook_energies,
                                                            default_config):
    problem = _problem(textbook_model, textbook_energies, default_config)
    z = problem.env.z_score
    std = dg0_marginal_std(problem.env.basis)
    # the compressed basis keeps each reaction's marginal std: the band is eQuilibrator's
    table_std = textbook_energies.table.loc[problem.env.constrained, "dg0_std_kJ"].astype(float)
    assert np.allclose(std, table_std, rtol=1e-9, atol=1e-9)
    # one band per uncertain reaction: -z sigma_j <= sum_k Q_jk M_k <= z sigma_j
    assert set(problem.dg0_band) == set(std.index[std > 0])
    for reaction_id, band in problem.dg0_band.items():
        assert (band.lb, band.ub) == pytest.approx((-z * std[reaction_id], z * std[reaction_id]))
        row = problem.env.basis.loc[reaction_id]
        variables = [problem.uncertainty[column] for column in row.index[row != 0]]
        coefficients = band.get_linear_coefficients(variables)
        assert [coefficients[v] for v in variables] == pytest.approx(list(row[row != 0]))

    # the reactions the box stretched most (largest ||Q_j||_1 / ||Q_j||_2)
    stretch = problem.env.basis.abs().sum(axis=1) / std.where(std > 0)
    widest = list(stretch.nlargest(3).index)
    with_band = _widest_dg0(problem, widest)
    assert with_band.to_numpy() == pytest.approx(z, abs=1e-6)  # the band edge, and no further
    # The box alone (bands dropped; the rest of this problem is a subset of the old one, whose
    # dG bounds and big M came from the wider box) lets these dG'0 reach beyond 4 z sigma.
    problem.model.remove_cons_vars(list(problem.dg0_band.values()))
    box_only = _widest_dg0(problem, widest)
    assert (box_only > 2 * z).all() and box_only.max() > 4 * z


def test_relaxation_keeps_the_dg0_band(textbook_model, textbook_energies, default_config):
    env = ThermoEnvironment.from_config(
        textbook_model, textbook_energies, default_config, "glucose_aerobic"
    )
    problem = build_tfa_problem(env, default_config["tfa"], relaxed=True)
    # the slacks shift the mean; the band stays around it, as apply_relaxation keeps sigma
    assert set(problem.dg0_band) == set(build_tfa_problem(env, default_config["tfa"]).dg0_band)
    reaction_id = next(iter(problem.dg0_band))
    band = problem.dg0_band[reaction_id]
    half_width = problem.env.z_score * dg0_marginal_std(problem.env.basis)[reaction_id]
    assert band.lb == pytest.approx(-half_width) and band.ub == pytest.approx(half_width)
    assert not {v.name for v in band.variables} & {
        v.name for v in problem.dg0_slack[reaction_id]
    }


# ------------------------------------------------------------------------------------------
# Infeasible environments


def test_fba_infeasible_environment_error_names_it(textbook_model, textbook_energies,
                                                   default_config):
    # no carbon source, but ATP maintenance demands 8.39 mmol/gDW/h
    starving = {"reaction_bounds": {"EX_glc__D_e": [0.0, 1000.0]}, "concentrations": {}}
    with pytest.raises(InvalidEnvironment, match="starving") as error:
        _run(textbook_model, textbook_energies, default_config, "starving", starving)
    assert isinstance(error.value, ValueError)


def test_relaxation_report_restores_feasibility(textbook_model, textbook_energies,
                                                default_config):
    # 1 nM ammonium outside against >= 1 uM inside: uptake through NH4t (dG'0 -14.6 kJ/mol)
    # would need RT ln(1000) = 17.8 kJ/mol, so the cell cannot take up nitrogen.
    environment = copy.deepcopy(default_config["environments"]["glucose_aerobic"])
    environment["concentrations"]["nh4_e"] = [1e-9, 1e-9]
    with pytest.raises(InfeasibleTFA, match="no_ammonium") as error:
        _run(textbook_model, textbook_energies, default_config, "no_ammonium", environment)
    report = error.value.report
    assert error.value.environment == "no_ammonium"
    assert list(report.columns) == [
        "kind", "id", "relaxation", "unit", "original", "relaxed", "reactions"
    ]
    assert len(report) >= 1 and (report["relaxation"] > 0).all()
    assert set(report["kind"]) <= {"dg0", "lnc_lower", "lnc_upper"}
    touched = set(report["id"])
    assert touched & {"NH4t", "nh4_e", "nh4_c"}
    # the cheapest fix costs about 17.8 - 14.6 = 3.2 kJ/mol (in RT ln units if concentrations)
    rt = 8.314462618e-3 * 310.15
    cost = sum(
        row.relaxation * (1.0 if row.kind == "dg0" else rt) for row in report.itertuples()
    )
    assert 2.0 < cost < 4.5

    energies, relaxed = apply_relaxation(
        report, textbook_model, textbook_energies, default_config["physiology"], environment,
        "no_ammonium",
    )
    summary, _ = _run(textbook_model, energies, default_config, "no_ammonium", relaxed)
    fraction = default_config["tfa"]["min_growth_fraction"]
    assert summary["tfa_growth"] >= fraction * summary["fba_growth"] - 1e-6


# ------------------------------------------------------------------------------------------
# Bad input


def test_bad_inputs_raise_clear_errors(textbook_model, textbook_energies, default_config):
    environment = copy.deepcopy(default_config["environments"]["glucose_aerobic"])
    environment["concentrations"]["h2o_c"] = [1.0, 1.0]
    with pytest.raises(ValueError, match="h2o_c"):
        _problem(textbook_model, textbook_energies, default_config, "wet", environment)
    environment = copy.deepcopy(default_config["environments"]["glucose_aerobic"])
    environment["concentrations"]["xyz_c"] = [1e-3, 1e-3]
    with pytest.raises(ValueError, match="xyz_c"):
        _problem(textbook_model, textbook_energies, default_config, "bad", environment)
    with pytest.raises(ValueError, match="tfa.directionality"):
        _problem(textbook_model, textbook_energies, default_config, directionality="random")
    with pytest.raises(ValueError, match="tfa.min_growth_fraction"):
        _problem(textbook_model, textbook_energies, default_config, min_growth_fraction=1.5)
    with pytest.raises(ValueError, match="biomass_reaction"):
        run_tfa(
            ThermoEnvironment.from_config(
                textbook_model, textbook_energies,
                dict(default_config, biomass_reaction="no_such_biomass"), "glucose_aerobic",
            ),
            default_config["tfa"],
        )


def test_relaxation_names_the_fixed_concentration_and_the_blocked_reaction(
    textbook_model, textbook_energies, default_config
):
    """Glucose fixed at 1e-20 M with uptake forced: the report named pyr_c, an equal-cost
    alternative, rather than glc__D_e, and no blocked reaction."""
    environment = copy.deepcopy(default_config["environments"]["glucose_aerobic"])
    environment["concentrations"]["glc__D_e"] = [1e-20, 1e-20]
    environment["reaction_bounds"]["EX_glc__D_e"] = [-10.0, -10.0]
    with pytest.raises(InfeasibleTFA, match="glc__D_e") as error:
        _run(textbook_model, textbook_energies, default_config, "no_glucose", environment)
    report = error.value.report
    top = report.iloc[0]
    assert top["id"] == "glc__D_e" and top["kind"] == "lnc_upper", report
    assert "GLCpts" in top["reactions"].split(), report


def test_loop_report_names_a_cycle_through_an_unconstrained_reaction(
    textbook_model, textbook_energies, default_config
):
    """The default profile admits no internal cycle; a reaction that undoes another,
    without thermodynamic data, closes one, and the report names both (issue 10, item 2)."""
    summary, _ = _run(textbook_model, textbook_energies, default_config, "glucose_aerobic")
    assert summary["loops"] == {"reactions": [], "unconstrained": []}
    profile = summary["directionality"]
    assert profile["PGI"] == 1
    model = textbook_model.copy()
    reverse_pgi = textbook_model.reactions.PGI.copy()
    reverse_pgi.id = "PGI_back"
    model.add_reactions([reverse_pgi])
    before = {r.id: r.bounds for r in model.reactions}
    loops = directional_loops(
        model, {**profile, "PGI_back": -1}, BIOMASS, unconstrained={"PGI_back"}
    )
    assert loops == {"reactions": ["PGI", "PGI_back"], "unconstrained": ["PGI_back"]}
    assert {r.id: r.bounds for r in model.reactions} == before  # the model is not changed
