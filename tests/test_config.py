"""Bad config fails early with a message naming the key or id; the method lists agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from kinetigen.config import ConfigError, validate_config

REPO = Path(__file__).resolve().parents[1]


def test_default_config_is_valid(default_config):
    validated = validate_config(default_config)
    assert len(validated["environments"]) == 6


def test_defaults_are_filled_in():
    config = validate_config({"environments": {"only": {}}})
    assert config["model"] == "textbook"
    assert config["tfa"]["min_growth_fraction"] == 0.5
    assert config["sampling"]["n_samples"] == 1000
    assert config["physiology"]["compartments"]["e"]["potential_mV"] == 150.0
    assert config["environments"]["only"]["reaction_bounds"] == {}


def _measure(config: dict, **entry) -> None:
    """Add a good measured Km and a second one changed by ``entry`` (None drops a key)."""
    good = {"reaction": "PFK", "metabolite": "f6p_c", "range_M": [3e-5, 1e-3], "source": "x"}
    second = {"reaction": "PGI", "metabolite": "g6p_c", "value_M": 2.9e-3, "source": "y"}
    second.update(entry)
    second = {key: value for key, value in second.items() if value is not None}
    config["kinetics"]["measured_km"] = [good, second]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(unknown_key=1), r"config: .*'unknown_key' was unexpected"),
        (lambda c: c["sampling"].update(thining=10), r"config key 'sampling'.*'thining'"),
        (lambda c: c["tfa"].update(big_m_kJ="large"), r"config key 'tfa.big_m_kJ'.*number"),
        (lambda c: c["sampling"].update(n_samples=0), r"config key 'sampling.n_samples'"),
        (lambda c: c.update(solver="cplex"), r"config key 'solver'"),
        (
            lambda c: c["environments"]["acetate_aerobic"]["reaction_bounds"].update(
                EX_nope_e=[0, 1]
            ),
            r"environments.acetate_aerobic.reaction_bounds'.*unknown reaction id 'EX_nope_e'",
        ),
        (
            lambda c: c["environments"]["glucose_aerobic"]["concentrations"].update(
                xyz_c=[1e-3, 1e-3]
            ),
            r"glucose_aerobic.*unknown metabolite id 'xyz_c'",
        ),
        (
            lambda c: c["environments"]["glucose_aerobic"]["reaction_bounds"].update(
                EX_o2_e=[5, -5]
            ),
            r"glucose_aerobic.*EX_o2_e has lower bound 5 > upper bound -5",
        ),
        (lambda c: c.update(model="missing/model.xml"), r"config key 'model'.*does not exist"),
        (lambda c: c.update(biomass_reaction="BIOMASS"), r"config key 'biomass_reaction'"),
        (
            lambda c: c["thermo"].update(unconstrained_reactions=["NOPE"]),
            r"thermo.unconstrained_reactions.*NOPE",
        ),
        (
            lambda c: c["sampling"].update(margin_reactions=["PGI", "NOPE2"]),
            r"sampling.margin_reactions.*NOPE2",
        ),
        (
            lambda c: c.setdefault("training", {}).update(heldout=["mars_aerobic"]),
            r"training.heldout.*mars_aerobic",
        ),
        (
            lambda c: c["physiology"]["compartments"].pop("e"),
            r"physiology.compartments.*'e'",
        ),
        (
            lambda c: c["analysis"].update(fluxes=["EX_nope_e"]),
            r"config key 'analysis.fluxes': unknown reaction 'EX_nope_e'",
        ),
        (
            lambda c: c["analysis"]["perturbations"].append({"reactions": ["PFKK"], "fold": 2}),
            r"config key 'analysis.perturbations\[4\]': unknown reaction 'PFKK'",
        ),
        (
            lambda c: c["analysis"]["perturbations"][1].update(fold=0),
            r"config key 'analysis.perturbations.1.fold'.*0",
        ),
        (
            lambda c: c["analysis"]["perturbations"][0].update(fold=-0.5),
            r"config key 'analysis.perturbations.0.fold'",
        ),
        (
            lambda c: c["analysis"]["perturbations"].append(
                {"reactions": ["GAPD", "EX_glc__D_e"], "fold": 0.5}
            ),
            r"perturbations\[4\]': enzyme 'EX_glc__D_e' is not in any kinetic model",
        ),
        (  # water transport changes no dynamic state: never a kinetic reaction
            lambda c: c["analysis"]["perturbations"].append({"reactions": ["H2Ot"], "fold": 2}),
            r"perturbations\[4\]': enzyme 'H2Ot' is not in any kinetic model",
        ),
        (
            lambda c: c["analysis"]["perturbations"][0].update(environments=["mars"]),
            r"analysis.perturbations\[0\].environments': unknown environment 'mars'",
        ),
        # Measured Km (kinetics.measured_km): the entry, its reaction and metabolite named.
        (
            lambda c: _measure(c, reaction="PGIX"),
            r"'kinetics.measured_km\[1\]': unknown reaction 'PGIX' \(km_PGIX_g6p_c\)",
        ),
        (
            lambda c: _measure(c, reaction="PFK"),
            r"'kinetics.measured_km\[1\]': metabolite 'g6p_c' is not a substrate or product "
            r"of 'PFK'",
        ),
        (
            lambda c: _measure(c, metabolite="h2o_c", reaction="ENO"),
            r"'kinetics.measured_km\[1\]': Km of 'h2o_c' in 'ENO'.*H2O and H\+ never saturate",
        ),
        (
            lambda c: _measure(c, reaction="EX_glc__D_e", metabolite="glc__D_e"),
            r"'kinetics.measured_km\[1\]': 'EX_glc__D_e' is an exchange reaction",
        ),
        (
            lambda c: _measure(c, value_M=0.0),
            r"'kinetics.measured_km\[1\]': Km of 'g6p_c' in 'PGI': must be positive.*value_M 0",
        ),
        (
            lambda c: _measure(c, value_M=None, range_M=[-1e-4, 1e-3]),
            r"'kinetics.measured_km\[1\]': Km of 'g6p_c' in 'PGI': must be positive",
        ),
        (
            lambda c: _measure(c, value_M=None, range_M=[1e-9, 1e-3]),
            r"'kinetics.measured_km\[1\]': Km of 'g6p_c' in 'PGI' \(km_PGI_g6p_c\): "
            r"\[1e-09, 0.001\] M lies outside the bounds \[1e-08, 1\] M of kinetics.km_bounds_M",
        ),
        (
            lambda c: _measure(c, value_M=2.0),
            r"'kinetics.measured_km\[1\]': Km of 'g6p_c' in 'PGI'.*outside the bounds",
        ),
        (
            lambda c: _measure(c, value_M=None, range_M=[1e-3, 1e-4]),
            r"'kinetics.measured_km\[1\]': Km of 'g6p_c' in 'PGI': range_M needs low <= high",
        ),
        (
            lambda c: _measure(c, value_M=None),
            r"'kinetics.measured_km\[1\]': Km of 'g6p_c' in 'PGI': give exactly one of",
        ),
        (
            lambda c: _measure(c, metabolite="f6p_c", reaction="PFK"),
            r"'kinetics.measured_km\[1\]': Km of 'f6p_c' in 'PFK'.*also kinetics.measured_km\[0\]",
        ),
    ],
)
def test_bad_config_names_the_culprit(default_config, edit, message):
    edit(default_config)
    with pytest.raises(ConfigError, match=message):
        validate_config(default_config)


def test_measured_km_overlay_passes(default_config):
    """config/measured_km.yaml deep-merged onto config.yaml: valid, and every entry sourced."""
    with open(REPO / "config" / "measured_km.yaml") as handle:
        update_config(default_config, yaml.safe_load(handle))
    measured = validate_config(default_config)["kinetics"]["measured_km"]
    assert 3 <= len(measured) <= 6
    assert all(entry["source"] and "coli" in entry["source"] for entry in measured)


def test_paper_config_passes_the_schema(default_config):
    """config/paper.yaml deep-merged onto config.yaml, as `--configfile` does."""
    with open(REPO / "config" / "paper.yaml") as handle:
        update_config(default_config, yaml.safe_load(handle))
    validated = validate_config(default_config)
    assert validated["training"]["methods"] == ["trnes", "renaissance", "sep-cma"]
    assert validated["training"]["seeds"] == [0, 1, 2, 3, 4]
    assert validated["sampling"]["n_samples"] > 1000
    # Deep merge: keys that paper.yaml leaves out keep config.yaml's values.
    assert validated["kinetics"]["attainability"]["max_evaluations"] == 5000
    assert validated["sampling"]["thinning"] == 1000
    assert len(validated["environments"]) == 6


def _leaves(node: yaml.Node, path: tuple[str, ...] = ()):
    """(key path, value node) of every leaf of a composed YAML mapping (lists are leaves)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _leaves(value, (*path, key.value))
    else:
        yield path, node


def test_config_yaml_agrees_with_schema_defaults():
    """config.yaml repeats the schema's defaults; a deliberate difference says so on its line
    ("differs from the default"), so users can tell a choice from a stale copy."""
    from kinetigen.config import with_defaults

    text = (REPO / "config.yaml").read_text()
    lines = text.splitlines()
    defaults = with_defaults({})
    values = yaml.safe_load(text)
    checked = 0
    for path, node in _leaves(yaml.compose(text)):
        if path[0] == "environments":
            continue
        default, value = defaults, values
        for key in path:
            default, value = default[key], value[key]
        checked += 1
        if value != default:
            line = lines[node.start_mark.line]
            assert "differs from the default" in line, (
                f"config.yaml key {'.'.join(path)} = {value!r} but the schema default is "
                f"{default!r}; change one, or say why on its line"
            )
    assert checked > 20


def test_threshold_factor_is_derived_from_the_return_test(default_config):
    """One criterion: the default factor is ln(max magnitude / tolerance) / return time
    factor, follows the validation settings, and a number given in config wins."""
    import math

    config = validate_config(default_config)
    assert config["kinetics"]["threshold"]["factor"] == pytest.approx(math.log(0.5 / 0.01))
    edited = yaml.safe_load((REPO / "config.yaml").read_text())
    edited["validation"].update(magnitudes=[0.1, 0.2], tolerance=0.02, return_time_factor=2.0)
    config = validate_config(edited)
    assert config["kinetics"]["threshold"]["factor"] == pytest.approx(math.log(10.0) / 2.0)
    edited = yaml.safe_load((REPO / "config.yaml").read_text())
    edited["kinetics"]["threshold"]["factor"] = 5.0
    assert validate_config(edited)["kinetics"]["threshold"]["factor"] == 5.0


def test_split_larger_than_the_sample_is_refused(default_config):
    default_config["kinetics"]["split"] = {"n_train": 600, "n_evaluation": 500, "gap": 15}
    with pytest.raises(ConfigError, match=r"kinetics.split'.*sampling.n_samples"):
        validate_config(default_config)


def test_every_method_list_names_the_same_methods():
    """Schema enums, the optimiser registry and the figures' colours name the methods of the
    one list (kinetigen.methods, which common.smk imports), and every method has an options
    section with models_per_member (which train_generator pops)."""
    from kinetigen.es import OPTIMIZERS
    from kinetigen.methods import METHODS
    from kinetigen.plots.common import COLOURS
    from kinetigen.schema import load_schema

    schema = load_schema()
    training = schema["properties"]["training"]["properties"]
    enums = [
        training["methods"]["items"]["enum"],
        training["benchmark"]["properties"]["methods"]["items"]["enum"],
        schema["properties"]["validation"]["properties"]["method"]["enum"],
    ]
    smk = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r"^from kinetigen.methods import METHODS$", smk, re.M)
    assert "METHODS = " not in smk
    for names in [*enums, list(OPTIMIZERS)]:
        assert names == list(METHODS)
    assert set(METHODS) <= set(COLOURS)
    config = validate_config({"environments": {"only": {}}})["training"]
    for method in METHODS:
        assert config[method]["models_per_member"] == 100


def test_renaissance_sections_default_to_the_published_values():
    training = validate_config({"environments": {"only": {}}})["training"]
    published = {"population_size": 20, "sigma": 0.01, "learning_rate": 1e-3, "decay": 0.95}
    assert training["renaissance"] == {
        **published,
        "models_per_member": 100,
        "reward": "renaissance",
        "n_consider": 10,
        "common_batch": False,
    }
    assert training["renaissance-ours"] == {
        **published,
        "models_per_member": 100,
        "common_batch": True,
    }
