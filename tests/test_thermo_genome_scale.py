"""Genome-scale thermodynamics: cobra's bundled iJO1366 (c, p, e) with config/ijo1366_core.yaml.

One eQuilibrator run (about 20 s on one core) shared by the module; real estimates throughout.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from equilibrator_api import Q_
from snakemake.utils import update_config

from kinetigen.config import validate_config
from kinetigen.network import load_network
from kinetigen.thermo import ReactionEnergies, component_contribution, reaction_energies
from kinetigen.thermo.energies import REASONS, coverage, reason_category

REPO = Path(__file__).resolve().parents[1]

# Measured on iJO1366 with config/ijo1366_core.yaml (equilibrator-api 0.8.1): 1549 of 2583
# reactions constrained (0.600), 671 of 745 transports. Floors a little below, so a small
# change in eQuilibrator's data does not fail the test but a lost category of reactions does.
MIN_CONSTRAINED = 1500
MIN_CONSTRAINED_TRANSPORTS = 650


@pytest.fixture(scope="module")
def ijo_config(_default_config: dict) -> dict:
    """config/ijo1366_core.yaml deep-merged onto config.yaml, as `--configfile` does."""
    config = copy.deepcopy(_default_config)
    with open(REPO / "config" / "ijo1366_core.yaml") as handle:
        update_config(config, yaml.safe_load(handle))
    return config


@pytest.fixture(scope="module")
def ijo_model():
    return load_network("iJO1366", solver="hybrid")


@pytest.fixture(scope="module")
def ijo_energies(ijo_model, ijo_config) -> ReactionEnergies:
    return reaction_energies(
        ijo_model, ijo_config["physiology"], ijo_config["thermo"], ijo_config["biomass_reaction"]
    )


def test_overlay_passes_validation(ijo_config):
    validated = validate_config(copy.deepcopy(ijo_config))
    assert list(validated["physiology"]["compartments"]) == ["c", "e", "p"]
    assert validated["model"] == "iJO1366"


def test_coverage_stays_above_the_measured_floor(ijo_energies, ijo_model):
    summary = ijo_energies.coverage
    assert summary == coverage(ijo_energies.table, ijo_model)
    assert summary["reactions"] == len(ijo_model.reactions) == 2583
    assert summary["constrained"] >= MIN_CONSTRAINED
    assert summary["transports"]["constrained"] >= MIN_CONSTRAINED_TRANSPORTS
    by_reason = summary["unconstrained_by_reason"]
    assert set(by_reason) == set(REASONS)
    assert sum(by_reason.values()) == summary["unconstrained"]
    # What crashed equilibrator-api before (find_most_abundant_ms on compounds without
    # microspecies) is now a reason of its own; nothing else failed.
    assert by_reason["no_dissociation_data"] > 0
    assert by_reason["estimate_failed"] == 0
    assert by_reason["boundary"] == len(ijo_model.boundary)


def test_every_unconstrained_reaction_has_a_known_reason(ijo_energies):
    table = ijo_energies.table
    categories = table["reason"].map(reason_category)
    assert (categories[table["constrained"]] == "constrained").all()
    assert (categories[~table["constrained"]] != "constrained").all()
    assert table.loc[table["constrained"], "dg0_mean_kJ"].notna().all()
    reason = table.loc["12DGR120tipp", "reason"]
    assert reason_category(reason) == "no_dissociation_data"
    assert "12dgr120_c" in reason and "12dgr120_p" in reason


def test_one_uncertainty_basis_for_all_constrained_reactions(ijo_energies, ijo_config):
    """Transports and single-compartment reactions share one eQuilibrator basis: the
    covariance of a sum of rows is eQuilibrator's own uncertainty of the summed reaction."""
    table, basis = ijo_energies.table, ijo_energies.sqrt_cov
    assert list(basis.index) == ijo_energies.constrained
    np.testing.assert_allclose(
        np.linalg.norm(basis.to_numpy(), axis=1),
        table.loc[basis.index, "dg0_std_kJ"],
        rtol=1e-12,
    )
    # GLCptspp (glc__D_p + pep_c -> g6p_c + pyr_c, a transport) followed by PGI (cytosol):
    # glc__D + pep -> f6p + pyr as one chemical reaction.
    cc = component_contribution(ijo_config["physiology"]["temperature_K"])
    summed = cc.parse_reaction_formula(
        "bigg.metabolite:glc__D + bigg.metabolite:pep = bigg.metabolite:f6p + bigg.metabolite:pyr"
    )
    reference = cc.standard_dg(summed).error.m_as("kJ/mol")
    row = basis.loc["GLCptspp"].to_numpy() + basis.loc["PGI"].to_numpy()
    assert np.linalg.norm(row) == pytest.approx(reference, rel=1e-9)


def test_periplasmic_transports_match_the_core_model(ijo_energies, textbook_energies):
    """iJO1366's proton-coupled transports across the inner membrane (c <-> p, the periplasm
    at the medium's pH and potential) equal e_coli_core's (c <-> e)."""
    genome, core = ijo_energies.table, textbook_energies.table
    for genome_id, core_id in [("ATPS4rpp", "ATPS4r"), ("NADH16pp", "NADH16"), ("PGI", "PGI")]:
        assert genome.loc[genome_id, "dg0_mean_kJ"] == pytest.approx(
            core.loc[core_id, "dg0_mean_kJ"], abs=1e-6
        )
    # Diffusion through a porin (e <-> p at one pH and potential) carries no energy.
    assert genome.loc["ACtex", "dg0_mean_kJ"] == pytest.approx(0.0, abs=1e-9)


def test_coverage_file_is_written(ijo_energies, tmp_path):
    ijo_energies.save(tmp_path)
    written = json.loads((tmp_path / "coverage.json").read_text())
    assert written == json.loads(json.dumps(ijo_energies.coverage))
    loaded = ReactionEnergies.load(tmp_path)
    assert loaded.constrained == ijo_energies.constrained
    assert loaded.sqrt_cov.shape == ijo_energies.sqrt_cov.shape


def test_single_compartment_basis_rows_equal_equilibrator_per_compartment(
    textbook_energies, textbook_model, default_config
):
    """e_coli_core: the one-call basis has the rows that one call per compartment gives."""
    cytosol = default_config["physiology"]["compartments"]["c"]
    cc = component_contribution(default_config["physiology"]["temperature_K"])
    cc.p_h = Q_(cytosol["pH"])
    cc.ionic_strength = Q_(cytosol["ionic_strength_M"], "M")
    ids = ["PGI", "PFK", "FBA", "TPI", "GAPD", "PGK", "ENO", "PYK"]
    reactions = [
        cc.parse_reaction_formula(
            " + ".join(
                f"{-c:g} bigg.metabolite:{m.id[:-2]}"
                for m, c in textbook_model.reactions.get_by_id(r).metabolites.items()
                if c < 0
            )
            + " = "
            + " + ".join(
                f"{c:g} bigg.metabolite:{m.id[:-2]}"
                for m, c in textbook_model.reactions.get_by_id(r).metabolites.items()
                if c > 0
            )
        )
        for r in ids
    ]
    means, sqrt_cov = cc.standard_dg_prime_multi(reactions, uncertainty_representation="sqrt")
    reference = np.asarray(sqrt_cov.m_as("kJ/mol"))
    basis = textbook_energies.sqrt_cov
    columns = [int(c[1:]) for c in basis.columns]
    np.testing.assert_allclose(basis.loc[ids].to_numpy(), reference[:, columns], atol=1e-12)
    assert not np.abs(np.delete(reference, columns, axis=1)).any()
    np.testing.assert_allclose(
        textbook_energies.table.loc[ids, "dg0_mean_kJ"], means.m_as("kJ/mol"), atol=1e-9
    )
