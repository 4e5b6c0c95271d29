"""The kinetic core (kinetigen.core): selection, the reduced model, core.json and bad input.

iJO1366 (cobra's bundled copy, about 3 s to load) with the core of config/ijo1366_core.yaml,
and e_coli_core, where a core of everything must give the model back.
"""

from __future__ import annotations

import copy
from pathlib import Path

import cobra
import numpy as np
import pandas as pd
import pytest
import yaml
from cobra.flux_analysis import pfba
from snakemake.utils import update_config

from kinetigen.config import ConfigError, check_core
from kinetigen.core import (
    CoreError,
    core_boundary,
    kinetic_sizes,
    pathway_to,
    reduce_in_environment,
    reduce_to_core,
    reduced_reference,
    select_core,
    write_core_json,
)
from kinetigen.io import read_json
from kinetigen.kinetics import build_kinetic_model
from kinetigen.kinetics.nonlinear import NonlinearModel
from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.kinetics.structure import IRREVERSIBLE_MM
from kinetigen.network import apply_environment, load_network
from kinetigen.settings import CoreSettings, WorkflowSettings

REPO = Path(__file__).resolve().parents[1]
SHIKIMATE = {"DDPA", "DHQS", "DHQTi", "SHK3Dr", "SHKK", "PSCVT", "CHORS"}
CENTRAL = {
    "PGI", "PFK", "FBA", "TPI", "GAPD", "PGK", "PGM", "ENO", "PYK", "PDH", "G6PDH2r", "GND",
    "RPE", "RPI", "TKT1", "TKT2", "TALA", "CS", "ACONTa", "ACONTb", "ICDHyr", "AKGDH",
    "SUCOAS", "SUCDi", "FUM", "MDH", "ICL", "PPC", "PPCK", "ME1", "ME2", "ATPS4rpp",
    "NADH16pp", "CYTBO3_4pp", "ATPM", "GLCptspp",
}


@pytest.fixture(scope="module")
def ijo_config() -> dict:
    """config/ijo1366_core.yaml deep-merged onto config.yaml, as `--configfile` does."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "config" / "ijo1366_core.yaml").read_text()))
    return config


@pytest.fixture(scope="module")
def ijo_model() -> cobra.Model:
    return load_network("iJO1366", solver="hybrid")


@pytest.fixture(scope="module")
def ijo_core(ijo_model, ijo_config):
    return select_core(ijo_model, ijo_config)


@pytest.fixture(scope="module")
def ijo_reference(ijo_model, ijo_config):
    """Genome-scale optimum and pFBA fluxes in glucose_aerobic."""
    with ijo_model:
        environment = ijo_config["environments"]["glucose_aerobic"]
        apply_environment(ijo_model, "glucose_aerobic", environment)
        growth = ijo_model.slim_optimize()
        fluxes = pfba(ijo_model).fluxes
        environment_model = ijo_model.copy()
    return growth, fluxes, environment_model


def test_the_default_is_no_core():
    settings = CoreSettings()
    assert settings.whole_model and not settings.selects
    assert WorkflowSettings().core == settings


def test_ijo1366_core_sizes_and_reactions(ijo_core):
    sizes = ijo_core.sizes()
    assert 100 <= sizes["reactions"] <= 200, sizes
    assert 80 <= sizes["likely_states"] <= 130, sizes
    assert CENTRAL <= set(ijo_core.reactions)
    assert SHIKIMATE <= set(ijo_core.reactions)
    assert {ijo_core.origins[r] for r in SHIKIMATE} == {"pathway to chor_c"}
    assert {"ANS", "TRPS1", "CHORM", "PHETA1", "TYRTA"} <= set(ijo_core.reactions)
    assert "BIOMASS_Ec_iJO1366_core_53p95M" not in ijo_core.reactions
    assert not ijo_core.whole_model
    # every boundary metabolite is a core metabolite that some non-core reaction touches
    assert set(ijo_core.boundary_metabolites) <= set(ijo_core.metabolites)
    assert "made or used by" in ijo_core.boundary_metabolites["accoa_c"]


def test_the_shikimate_pathway_to_chorismate(ijo_model):
    glycolysis_and_ppp = {
        r.id for r in ijo_model.reactions
        if r.subsystem in ("Glycolysis/Gluconeogenesis", "Pentose Phosphate Pathway")
    }
    currency = set(CoreSettings().currency_metabolites) | {"h", "h2o", "pi", "co2", "o2", "nh4"}
    blocked = {r.id for r in ijo_model.boundary} | {"BIOMASS_Ec_iJO1366_core_53p95M"}
    found = pathway_to(ijo_model, glycolysis_and_ppp, "chor_c", currency, blocked)
    assert set(found) == SHIKIMATE


def test_reduced_model_grows_as_the_genome_scale_model(ijo_core, ijo_reference):
    growth, fluxes, model = ijo_reference
    reduced = reduce_to_core(model, ijo_core, fluxes)
    assert reduced.slim_optimize() == pytest.approx(growth, rel=1e-6)
    # the optimum does not depend on the slack of the boundary reactions
    loose = type(ijo_core)(**{**ijo_core.__dict__, "boundary_slack": 0.9})
    assert reduce_to_core(model, loose, fluxes).slim_optimize() == pytest.approx(growth, rel=1e-6)
    # the medium's exchanges stay, with their bounds
    assert reduced.reactions.EX_glc__D_e.bounds == model.reactions.EX_glc__D_e.bounds


@pytest.mark.parametrize("environment", ["glucose_anaerobic", "acetate_aerobic"])
def test_a_reduction_per_environment(ijo_model, ijo_core, ijo_config, environment):
    spec = ijo_config["environments"][environment]
    reduction = reduce_in_environment(ijo_model, ijo_core, environment, spec)
    with ijo_model:
        apply_environment(ijo_model, environment, spec)
        growth = ijo_model.slim_optimize()
    assert reduction.growth == pytest.approx(growth, rel=1e-6)
    assert reduction.model.slim_optimize() == pytest.approx(growth, rel=1e-6)
    assert ijo_model.reactions.EX_o2_e.bounds == (-1000.0, 1000.0)  # not changed


def test_an_environment_without_a_reference(textbook_model):
    core = select_core(textbook_model, {})
    starved = {"reaction_bounds": {"EX_glc__D_e": [0.0, 0.0]}}
    with pytest.raises(CoreError, match=r"environment 'starved': no genome-scale reference"):
        reduce_in_environment(textbook_model, core, "starved", starved)


def test_the_reference_is_a_steady_state_of_the_reduced_model(ijo_core, ijo_reference):
    """The boundary-reaction rule: core fluxes as in the reference plus each boundary
    reaction at its reference flux balance every core metabolite, within the bounds."""
    _, fluxes, model = ijo_reference
    boundary = core_boundary(model, ijo_core, fluxes)
    reduced = reduce_to_core(model, ijo_core, fluxes)
    reference = reduced_reference(ijo_core, boundary, fluxes)
    stoichiometry = cobra.util.create_stoichiometric_matrix(reduced)
    vector = np.array([reference[r.id] for r in reduced.reactions])
    residual = np.abs(stoichiometry @ vector)
    scale = np.abs(stoichiometry) @ np.abs(vector)
    assert np.all(residual <= 1e-9 * np.maximum(scale, 1.0))
    for item in boundary:
        low, high = item.bounds
        assert low - 1e-9 <= item.reference_flux <= high + 1e-9, item.id
        if item.kind != "exchange":
            assert low >= 0.0, item.id  # one direction: an irreversible rate law
    kinds = {b.kind for b in boundary}
    assert {"biomass", "exchange"} <= kinds
    biomass = reduced.reactions.get_by_id(ijo_core.biomass_reaction)
    assert "kinetigen_core" in biomass.notes


def _steady_states(reduced: cobra.Model, fluxes: dict, boundary_ids: set, n: int) -> pd.DataFrame:
    """Steady states in the sampling stage's format at the reduced reference fluxes (scaled
    per sample), with random ln c and dG = -sign(v) U(1, 20) kJ/mol for core reactions."""
    rng = np.random.default_rng(5)
    scale = rng.uniform(0.8, 1.2, size=n)
    frame = {f"flux:{r.id}": fluxes[r.id] * scale for r in reduced.reactions}
    for metabolite in reduced.metabolites:
        frame[f"lnc:{metabolite.id}"] = rng.uniform(np.log(1e-5), np.log(1e-2), size=n)
    for reaction in reduced.reactions:
        if reaction.id not in boundary_ids and abs(fluxes[reaction.id]) > 1e-9:
            frame[f"dg:{reaction.id}"] = -np.sign(fluxes[reaction.id]) * rng.uniform(1, 20, n)
    return pd.DataFrame(frame)


def _kinetic_model_of_the_core(model, core, fluxes, config, environment):
    """The kinetic model of the reduced model on two steady states at the reduced reference;
    checks that every rate equals its flux and every dx/dt = 0 (1e-9 relative)."""
    boundary = core_boundary(model, core, fluxes)
    reduced = reduce_to_core(model, core, fluxes)
    reference = reduced_reference(core, boundary, fluxes)
    samples = _steady_states(reduced, reference, {b.id for b in boundary}, 2)
    kinetic = build_kinetic_model(reduced, samples, config, environment)
    # the lumped biomass, or its drains (kinetics.biomass_law: per_substrate)
    assert core.biomass_reaction in {law.km_reaction for law in kinetic.rate_laws}
    saturation = np.full((1, len(kinetic.parameters)), 0.5)
    for position in range(2):
        ln_km = kinetic.ln_km_from_saturation(saturation, [position])[0]
        nonlinear = NonlinearModel(kinetic, position, ln_km)
        rates = nonlinear.rates(nonlinear.x_ref)
        np.testing.assert_allclose(rates, kinetic.flux[position], rtol=1e-9)
        rhs = nonlinear.rhs(0.0, nonlinear.x_ref)
        scale = np.abs(kinetic.stoichiometry) @ np.abs(rates)
        assert np.all(np.abs(rhs) <= 1e-9 * scale)
    estimate = kinetic_sizes(reduced, boundary, fluxes, KineticsSettings.from_config(config))
    sizes = kinetic.sizes()
    assert (sizes["reactions"], sizes["states"], sizes["km_parameters"]) == (
        estimate["reactions"], estimate["states"], estimate["km_parameters"]
    )
    return kinetic


def test_the_kinetic_model_of_the_ijo1366_core_reproduces_the_steady_state(
    ijo_core, ijo_reference, ijo_config
):
    _, fluxes, model = ijo_reference
    kinetic = _kinetic_model_of_the_core(model, ijo_core, fluxes, ijo_config, "glucose_aerobic")
    sizes = kinetic.sizes()
    # RENAISSANCE's size (issue 10): 80-130 dynamic states, 300-450 Km
    assert 80 <= sizes["states"] <= 130 and 300 <= sizes["km_parameters"] <= 450, sizes


def test_drains_and_lumped_exchanges_are_kinetic(textbook_model, default_config):
    """e_coli_core without its fermentation-product transports and its glucose PTS,
    anaerobic: formate leaves by a drain (irreversible Michaelis-Menten, one Km), acetate,
    ethanol and glucose through lumped exchanges; NH4 comes by a supply (a constant
    small molecule, so in no rate law)."""
    drops = ["ACt2r", "ETOHt2r", "FORt2", "FORti", "GLCpts", "NH4t"]
    core = select_core(textbook_model, {"core": {"drop_reactions": drops}})
    textbook_model.reactions.EX_o2_e.lower_bound = 0.0
    fluxes = pfba(textbook_model).fluxes
    kinds = {b.id: b.kind for b in core_boundary(textbook_model, core, fluxes)}
    assert kinds["core_drain_for_c"] == "drain" and kinds["core_supply_nh4_c"] == "supply"
    assert kinds["core_lump_GLCpts"] == "lumped_exchange"
    reduced = reduce_to_core(textbook_model, core, fluxes)
    assert reduced.slim_optimize() == pytest.approx(textbook_model.slim_optimize(), rel=1e-6)
    kinetic = _kinetic_model_of_the_core(
        textbook_model, core, fluxes, default_config, "glucose_anaerobic"
    )
    law = next(law for law in kinetic.rate_laws if law.reaction == "core_drain_for_c")
    assert law.kind == IRREVERSIBLE_MM and law.substrates == (("for_c", 1),)
    assert "core_lump_GLCpts" in kinetic.reactions
    assert "core_supply_nh4_c" not in kinetic.reactions


def test_core_json(tmp_path, ijo_core, ijo_reference, ijo_config):
    _, fluxes, model = ijo_reference
    boundary = core_boundary(model, ijo_core, fluxes)
    reduced = reduce_to_core(model, ijo_core, fluxes)
    sizes = kinetic_sizes(reduced, boundary, fluxes, KineticsSettings.from_config(ijo_config))
    assert sizes["states"] > 50 and sizes["km_parameters"] > 150, sizes
    path = tmp_path / "kinetic" / "core.json"
    write_core_json(path, ijo_core, boundary, sizes)
    document = read_json(path)
    assert [r["id"] for r in document["reactions"]] == list(ijo_core.reactions)
    assert document["states"] == list(ijo_core.states)
    assert {b["id"] for b in document["boundary_reactions"]} == {b.id for b in boundary}
    assert all(b["why"] for b in document["boundary_reactions"])
    assert document["kinetic_model_estimate"] == sizes
    assert sorted(p.name for p in path.parent.iterdir()) == ["core.json"]


def test_a_core_of_everything_is_e_coli_core(textbook_model):
    core = select_core(textbook_model, {})
    assert core.whole_model
    expected = {r.id for r in textbook_model.reactions} - {r.id for r in textbook_model.boundary}
    assert set(core.reactions) == expected - {"Biomass_Ecoli_core"}
    reduced = reduce_to_core(textbook_model, core, pfba(textbook_model).fluxes)
    assert {r.id for r in reduced.reactions} == {r.id for r in textbook_model.reactions}
    for reaction in textbook_model.reactions:
        copied = reduced.reactions.get_by_id(reaction.id)
        assert copied.bounds == reaction.bounds, reaction.id
        stoichiometry = {m.id: c for m, c in copied.metabolites.items()}
        assert stoichiometry == pytest.approx(
            {m.id: c for m, c in reaction.metabolites.items()}, rel=1e-12
        ), reaction.id
    assert reduced.slim_optimize() == pytest.approx(textbook_model.slim_optimize(), rel=1e-9)


@pytest.mark.parametrize(
    ("core", "message"),
    [
        (
            {"subsystems": ["Glycolysis"]},
            r"'core.subsystems': the model has no subsystem 'Glycolysis'",
        ),
        ({"add_reactions": ["PGI", "NOPE"]}, r"'core.add_reactions': unknown reaction 'NOPE'"),
        ({"drop_reactions": ["NOPE"]}, r"'core.drop_reactions': unknown reaction 'NOPE'"),
        ({"pathways_to": ["nope_c"]}, r"'core.pathways_to': unknown metabolite 'nope_c'"),
        ({"add_reactions": ["EX_glc__D_e"]}, r"'core.add_reactions': 'EX_glc__D_e' is an exchange"),
        ({"add_reactions": ["PGI", "CS"]}, r"'core': is disconnected: reactions \['(PGI|CS)'\]"),
        (
            {"add_reactions": ["PGI"], "pathways_to": ["glc__D_e"]},
            r"'core.pathways_to': no pathway from the core reaches 'glc__D_e'",
        ),
    ],
)
def test_bad_core_input_names_the_key_and_id(textbook_model, core, message):
    with pytest.raises(CoreError, match=message):
        select_core(textbook_model, {"core": core})


def test_an_empty_core_and_a_doubly_listed_reaction(textbook_model):
    everything = [r.id for r in textbook_model.reactions if not r.boundary]
    with pytest.raises(CoreError, match=r"'core': selects no reaction"):
        select_core(textbook_model, {"core": {"drop_reactions": everything}})
    with pytest.raises(ConfigError, match=r"'core.drop_reactions': also in core.add_reactions"):
        CoreSettings(add_reactions=("PGI",), drop_reactions=("PGI",))


def test_the_config_check_reports_a_bad_core(textbook_model, default_config):
    check_core(textbook_model, default_config)  # no core: nothing to check
    config = copy.deepcopy(default_config)
    config["core"] = {"subsystems": ["Nope"]}
    with pytest.raises(ConfigError, match=r"config key 'core.subsystems'.*'Nope'"):
        check_core(textbook_model, config)


def test_a_steady_state_that_cannot_be_closed(textbook_model):
    core = select_core(textbook_model, {})
    fluxes = pfba(textbook_model).fluxes
    with pytest.raises(CoreError, match=r"does not grow \(Biomass_Ecoli_core = 0\)"):
        reduce_to_core(textbook_model, core, fluxes * 0.0)
    with pytest.raises(CoreError, match=r"lacks fluxes of \['PGI'\]"):
        reduce_to_core(textbook_model, core, fluxes.drop("PGI"))


def test_two_routes_draining_one_metabolite_get_two_drains(textbook_model):
    formate_c = textbook_model.metabolites.for_c
    other = cobra.Metabolite("for2_c", compartment="c")
    # Both routes forced to carry flux: pFBA's optimum is not unique, and which route an
    # optimum takes then depends on the solver's column order (PYTHONHASHSEED).
    route = cobra.Reaction("FORX", lower_bound=1.0, upper_bound=1000.0)
    textbook_model.add_reactions([route])
    route.add_metabolites({formate_c: -1.0, other: 1.0})
    textbook_model.add_boundary(other, type="demand")
    textbook_model.reactions.FORti.bounds = (1.0, 5.0)
    textbook_model.reactions.EX_o2_e.lower_bound = 0.0
    core = select_core(textbook_model, {"core": {"drop_reactions": ["FORt2", "FORti", "FORX"]}})
    fluxes = pfba(textbook_model).fluxes
    drains = sorted(b.id for b in core_boundary(textbook_model, core, fluxes) if b.kind == "drain")
    assert drains == ["core_drain_for_c", "core_drain_for_c_FORX"]
    reduced = reduce_to_core(textbook_model, core, fluxes)
    assert reduced.slim_optimize() == pytest.approx(textbook_model.slim_optimize(), rel=1e-6)
