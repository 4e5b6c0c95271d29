"""Environment families: expansion into named environments, seeded draws, name lists, errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from kinetigen.config import training_environments, validate_config
from kinetigen.families import (
    apply_families,
    expand_families,
    family_members,
    number_text,
    point_part,
    short_name,
)
from kinetigen.schema import ConfigError

GLC_O2 = {
    "base": "glucose_aerobic",
    "grid": {"EX_glc__D_e": [4.0, 7.5], "EX_o2_e": [0.0, 5.0, 20.0]},
}


def test_member_names_say_what_they_are():
    assert short_name("EX_glc__D_e") == "glc"
    assert short_name("EX_o2_e") == "o2"
    assert short_name("EX_succ_e") == "succ"
    assert short_name("PGI") == "PGI"
    assert number_text(10.0) == "10" and number_text(7.5) == "7p5" and number_text(0) == "0"
    assert point_part("EX_glc__D_e", 7.5) == "glc7p5"
    assert point_part("EX_o2_e", 5.0) == "o2x5"  # an x after a name that ends in a digit


def test_grid_family_expands_into_the_environments_it_promises(default_config):
    environments = default_config["environments"]
    members = family_members("glc_o2", GLC_O2, environments)
    assert list(members) == [
        "glc_o2__glc4_o2x0",
        "glc_o2__glc4_o2x5",
        "glc_o2__glc4_o2x20",
        "glc_o2__glc7p5_o2x0",
        "glc_o2__glc7p5_o2x5",
        "glc_o2__glc7p5_o2x20",
    ]
    member = members["glc_o2__glc7p5_o2x5"]
    # uptake rate u: lower bound -u, the base's upper bound; the rest of the base kept
    assert member["reaction_bounds"] == {"EX_glc__D_e": [-7.5, 1000.0], "EX_o2_e": [-5.0, 1000.0]}
    assert members["glc_o2__glc4_o2x0"]["reaction_bounds"]["EX_o2_e"] == [0.0, 1000.0]
    assert member["concentrations"] == environments["glucose_aerobic"]["concentrations"]
    assert "EX_glc__D_e 7.5, EX_o2_e 5" in member["description"]
    # the base is not changed
    assert environments["glucose_aerobic"]["reaction_bounds"]["EX_glc__D_e"] == [-10.0, 1000.0]


def test_mixture_and_knockout_families(default_config):
    environments = default_config["environments"]
    mixture = {
        "base": "glucose_aerobic",
        "grid": {"EX_glc__D_e": [5.0], "EX_ac_e": [2.0, 4.0]},
        "concentrations": {"ac_e": [0.02, 0.02]},
    }
    members = family_members("glc_ac", mixture, environments)
    assert list(members) == ["glc_ac__glc5_ac2", "glc_ac__glc5_ac4"]
    bounds = members["glc_ac__glc5_ac4"]["reaction_bounds"]
    assert bounds["EX_ac_e"] == [-4.0, 1000.0] and bounds["EX_glc__D_e"] == [-5.0, 1000.0]
    assert members["glc_ac__glc5_ac4"]["concentrations"] == {
        "glc__D_e": [0.02, 0.02],
        "ac_e": [0.02, 0.02],
    }
    knockouts = {"base": "glucose_aerobic", "knockouts": ["PGI", ["PFK", "FBP"]]}
    members = family_members("ko", knockouts, environments)
    assert list(members) == ["ko__ko_PGI", "ko__ko_PFK_FBP"]
    assert members["ko__ko_PFK_FBP"]["reaction_bounds"]["PFK"] == [0.0, 0.0]
    assert members["ko__ko_PFK_FBP"]["reaction_bounds"]["FBP"] == [0.0, 0.0]
    assert members["ko__ko_PGI"]["reaction_bounds"]["EX_glc__D_e"] == [-10.0, 1000.0]


def test_drawn_family_is_seeded_and_reproducible(default_config):
    environments = default_config["environments"]
    draw = {
        "base": "glucose_aerobic",
        "draw": {"n": 8, "seed": 3, "decimals": 2, "ranges": {"EX_glc__D_e": [2.0, 10.0]}},
    }
    first = family_members("d", draw, environments)
    assert first == family_members("d", copy.deepcopy(draw), environments)
    assert len(first) == 8
    for name, member in first.items():
        lower = member["reaction_bounds"]["EX_glc__D_e"][0]
        assert -10.0 <= lower <= -2.0 and round(lower, 2) == lower
        assert name == f"d__glc{number_text(-lower)}"
    draw["draw"]["seed"] = 4
    assert list(family_members("d", draw, environments)) != list(first)


def test_apply_families_replaces_family_names_and_is_idempotent(default_config):
    config = default_config
    config["environment_families"] = {"glc_o2": copy.deepcopy(GLC_O2)}
    config["training"].update(environments=["glc_o2"], heldout=["glc_o2__glc4_o2x5"])
    apply_families(config)
    members = [name for name in config["environments"] if name.startswith("glc_o2__")]
    assert len(members) == 6
    assert config["training"]["environments"] == members
    before = copy.deepcopy(config)
    assert apply_families(config) == before  # a second expansion changes nothing
    config["run_environments"] = []
    assert training_environments(config) == [m for m in members if m != "glc_o2__glc4_o2x5"]


def test_family_name_in_adaptation_environments_stands_for_its_members(default_config):
    config = default_config
    config["environment_families"] = {"glc_o2": copy.deepcopy(GLC_O2)}
    config["training"].update(heldout=["glc_o2"], adaptation={"environments": ["glc_o2"]})
    validate_config(config)
    members = [name for name in config["environments"] if name.startswith("glc_o2__")]
    training = config["training"]
    assert training["adaptation"]["environments"] == members == training["heldout"]
    assert training["adaptation"]["target_incidence"] == 0.9  # schema default


def test_default_config_has_no_family(default_config):
    config = copy.deepcopy(default_config)
    validate_config(config)
    assert config["environment_families"] == {}
    assert list(config["environments"]) == list(default_config["environments"])
    assert config["training"]["environments"] == []
    assert config["training"]["environments_per_generation"] is None


def test_family_of_the_shipped_overlay_validates(default_config):
    repo = Path(__file__).resolve().parents[1]
    overlay = yaml.safe_load((repo / "config" / "families.yaml").read_text())
    config = default_config
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    validate_config(config)
    train = training_environments(config)
    assert 20 <= len(train) <= 30 and all("__" in name for name in train)
    assert "glc_o2_inside__glc7_o2x7p5" in config["training"]["heldout"]
    assert {"pyruvate_aerobic", "succinate_aerobic"} <= set(config["training"]["heldout"])
    assert config["training"]["environments_per_generation"] == 6


@pytest.mark.parametrize(
    ("family", "message"),
    [
        (
            {"base": "mars", "grid": {"EX_o2_e": [1.0]}},
            r"'environment_families.f.base': unknown environment 'mars'",
        ),
        ({"base": "glucose_aerobic", "grid": {}}, r"'environment_families.f.grid': is empty"),
        (
            {"base": "glucose_aerobic", "grid": {"EX_o2_e": []}},
            r"'environment_families.f.grid.EX_o2_e': has no uptake rates",
        ),
        (
            {"base": "glucose_aerobic"},
            r"'environment_families.f': needs exactly one of \['grid', 'draw', 'knockouts'\]",
        ),
        (
            {"base": "glucose_aerobic", "knockouts": []},
            r"'environment_families.f.knockouts': is empty",
        ),
    ],
)
def test_bad_family_names_the_key(default_config, family, message):
    with pytest.raises(ConfigError, match=message):
        expand_families({"f": family}, default_config["environments"])


def test_name_clashes_name_the_family(default_config):
    environments = default_config["environments"]
    with pytest.raises(ConfigError, match=r"'environment_families.glucose_aerobic'.*name of an"):
        expand_families({"glucose_aerobic": GLC_O2}, environments)
    environments["glc_o2__glc4_o2x5"] = environments["acetate_aerobic"]
    with pytest.raises(ConfigError, match=r"'environment_families.glc_o2'.*'glc_o2__glc4_o2x5'"):
        expand_families({"glc_o2": GLC_O2}, environments)
    ranges = {"EX_o2_e": [1, 1]}
    draw = {"base": "glucose_aerobic", "draw": {"n": 5, "decimals": 0, "ranges": ranges}}
    with pytest.raises(ConfigError, match=r"'environment_families.d'.*raise draw.decimals"):
        expand_families({"d": draw}, environments)


@pytest.mark.parametrize(
    ("family", "message"),
    [
        (
            {"base": "glucose_aerobic", "grid": {"EX_typo_e": [1.0]}},
            r"'environment_families.f.grid': unknown reaction id 'EX_typo_e' is not an exchange",
        ),
        (
            {"base": "glucose_aerobic", "grid": {"PGI": [1.0]}},
            r"'environment_families.f.grid': reaction 'PGI' is not an exchange",
        ),
        (
            {"base": "glucose_aerobic", "draw": {"n": 2, "ranges": {"EX_typo_e": [1, 2]}}},
            r"'environment_families.f.draw': unknown reaction id 'EX_typo_e'",
        ),
        (
            {"base": "glucose_aerobic", "knockouts": ["NOPE"]},
            r"'environment_families.f.knockouts': unknown reaction id 'NOPE'",
        ),
    ],
)
def test_family_ids_are_checked_against_the_model_before_any_job(default_config, family, message):
    default_config["environment_families"] = {"f": family}
    with pytest.raises(ConfigError, match=message):
        validate_config(default_config)
