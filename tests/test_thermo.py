"""Reaction Gibbs energies against eQuilibrator's own numbers and known physics."""

from __future__ import annotations

import numpy as np
import pytest
from equilibrator_api import Q_

from kinetigen.thermo import ReactionEnergies, component_contribution, reaction_energies


def test_atp_hydrolysis_matches_equilibrator_itself(textbook_energies, default_config):
    # ATPM: atp + h2o -> adp + pi + h, cytosol pH 7.5, I = 0.25 M, 310.15 K.
    cc = component_contribution(310.15)
    cc.p_h = Q_(7.5)
    cc.ionic_strength = Q_(0.25, "M")
    reaction = cc.parse_reaction_formula(
        "bigg.metabolite:atp + bigg.metabolite:h2o = bigg.metabolite:adp + bigg.metabolite:pi"
        " + bigg.metabolite:h"
    )
    reference = cc.standard_dg_prime(reaction)
    row = textbook_energies.table.loc["ATPM"]
    assert row["dg0_mean_kJ"] == pytest.approx(reference.value.m_as("kJ/mol"), abs=1e-6)
    assert row["dg0_std_kJ"] == pytest.approx(reference.error.m_as("kJ/mol"), rel=1e-6)


def test_transport_energies_have_the_physical_sign(textbook_energies):
    # Inside negative (150 mV), pH 7.5 in / 7.0 out: proton influx drives ATP synthesis.
    # With the potential sign flipped these would be about +78 and -164 kJ/mol.
    table = textbook_energies.table
    assert table.loc["ATPS4r", "dg0_mean_kJ"] == pytest.approx(-38.1, abs=1.0)
    assert table.loc["NADH16", "dg0_mean_kJ"] == pytest.approx(-77.5, abs=1.5)


def test_inner_outer_choice_does_not_change_transport_energy(textbook_model, default_config):
    physiology = default_config["physiology"]
    reversed_order = dict(
        physiology, compartments=dict(reversed(physiology["compartments"].items()))
    )
    thermo = default_config["thermo"]
    first = reaction_energies(textbook_model, physiology, thermo, "Biomass_Ecoli_core")
    second = reaction_energies(textbook_model, reversed_order, thermo, "Biomass_Ecoli_core")
    for reaction in ("ATPS4r", "NADH16", "GLCpts", "PIt2r", "SUCCt3"):
        assert first.table.loc[reaction, "dg0_mean_kJ"] == pytest.approx(
            second.table.loc[reaction, "dg0_mean_kJ"], abs=1e-6
        )


def test_uncertainty_basis_is_consistent(textbook_energies):
    table = textbook_energies.table
    constrained = textbook_energies.constrained
    norms = np.linalg.norm(textbook_energies.sqrt_cov.to_numpy(), axis=1)
    np.testing.assert_allclose(norms, table.loc[constrained, "dg0_std_kJ"], rtol=1e-12)
    # Pure diffusion of a neutral compound carries neither energy nor uncertainty.
    assert table.loc["CO2t", "dg0_mean_kJ"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["CO2t", "dg0_std_kJ"] == pytest.approx(0.0, abs=1e-9)
    # FRD7 and SUCDi are the same chemistry in opposite directions.
    assert table.loc["FRD7", "dg0_mean_kJ"] == pytest.approx(-table.loc["SUCDi", "dg0_mean_kJ"])


def test_every_reaction_is_classified_with_a_reason(textbook_energies):
    table = textbook_energies.table
    unconstrained = table[~table["constrained"]]
    assert (unconstrained["reason"] != "").all()
    assert "Biomass_Ecoli_core" in unconstrained.index
    assert unconstrained.index.str.startswith("EX_").sum() == 20
    assert len(textbook_energies.constrained) == 95 - 21
    assert textbook_energies.unmapped == {}


def test_unmapped_metabolite_is_reported_and_its_reactions_left_free(
    textbook_model, default_config
):
    met = textbook_model.metabolites.get_by_id("g6p_c")
    met.id = "zzunknown_c"
    met.annotation = {}
    energies = reaction_energies(
        textbook_model, default_config["physiology"], default_config["thermo"], "Biomass_Ecoli_core"
    )
    assert "zzunknown_c" in energies.unmapped
    for reaction in ("PGI", "G6PDH2r", "GLCpts"):
        assert not energies.table.loc[reaction, "constrained"]
        assert "zzunknown_c" in energies.table.loc[reaction, "reason"]


def test_missing_compartment_names_the_config_key(textbook_model, default_config):
    physiology = default_config["physiology"]
    del physiology["compartments"]["e"]
    with pytest.raises(ValueError, match=r"physiology\.compartments.*'e'"):
        reaction_energies(
            textbook_model, physiology, default_config["thermo"], "Biomass_Ecoli_core"
        )


def test_round_trip_through_files(textbook_energies, tmp_path):
    textbook_energies.save(tmp_path)
    loaded = ReactionEnergies.load(tmp_path)
    assert loaded.constrained == textbook_energies.constrained
    np.testing.assert_allclose(loaded.sqrt_cov.to_numpy(), textbook_energies.sqrt_cov.to_numpy())
    np.testing.assert_allclose(
        loaded.table["dg0_mean_kJ"].to_numpy(), textbook_energies.table["dg0_mean_kJ"].to_numpy()
    )
