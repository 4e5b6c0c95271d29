"""Steady-state sampling on e_coli_core: every sample passes the checks, the checker can fail,
dG agrees with eQuilibrator's own dG', and the same seed gives the same samples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from equilibrator_api import Q_

from kinetigen.network import is_water_or_proton
from kinetigen.sampling import (
    SteadyStateViolation,
    ThermoEnvironment,
    check_steady_states,
    dg0_marginal_std,
    lag_one_autocorrelation,
    run_tfa,
    sample_steady_states,
    steady_state_violations,
    uncertainty_basis,
)
from kinetigen.thermo import component_contribution

BIOMASS = "Biomass_Ecoli_core"
N_SAMPLES = 50
SEED = 7
ENVIRONMENTS = ["glucose_aerobic", "acetate_aerobic"]


def _settings(config):
    sampling = dict(config["sampling"], n_samples=N_SAMPLES, thinning=10, processes=1)
    tfa = dict(config["tfa"], variability=False)
    return tfa, sampling


def _sample(model, energies, config, env_name, summary, seed=SEED, **overrides):
    tfa, sampling = _settings(config)
    sampling.update(overrides)
    return sample_steady_states(
        ThermoEnvironment.from_config(model, energies, config, env_name), tfa, sampling,
        summary["directionality"], seed, min_growth=summary["min_growth"],
    )


def _check(samples, model, energies, config, env_name, summary, **kwargs):
    _, sampling = _settings(config)
    return kwargs.pop("function", check_steady_states)(
        samples, ThermoEnvironment.from_config(model, energies, config, env_name), sampling,
        min_growth=summary["min_growth"], directionality=summary["directionality"], **kwargs,
    )


@pytest.fixture(scope="module")
def sampled(_textbook, textbook_energies, _default_config):
    """{environment: (TFA summary, samples)} for two environments."""
    config = _default_config
    tfa, sampling = _settings(config)
    result = {}
    for env_name in ENVIRONMENTS:
        summary, _ = run_tfa(
            ThermoEnvironment.from_config(_textbook, textbook_energies, config, env_name),
            tfa,
            sampling=sampling,
        )
        result[env_name] = (summary, _sample(_textbook, textbook_energies, config, env_name,
                                             summary))
    return result


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_samples_pass_every_steady_state_check(sampled, _textbook, textbook_energies,
                                               _default_config, env_name):
    summary, samples = sampled[env_name]
    assert len(samples) == N_SAMPLES
    _check(samples, _textbook, textbook_energies, _default_config, env_name, summary)
    # the samples actually differ (a sampler stuck at one point would also pass the checks)
    assert samples.filter(like="lnc:").std().median() > 0.1
    assert samples[f"flux:{BIOMASS}"].min() >= summary["min_growth"] - 1e-9


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_samples_keep_every_dg0_within_z_marginal_std(sampled, textbook_energies,
                                                      _default_config, env_name):
    _, samples = sampled[env_name]
    z = _default_config["thermo"]["z_score"]
    constrained = [c.removeprefix("dg0:") for c in samples.columns if c.startswith("dg0:")]
    std = dg0_marginal_std(uncertainty_basis(textbook_energies, constrained))
    assert np.allclose(std, textbook_energies.table.loc[constrained, "dg0_std_kJ"], atol=1e-9)
    deviation = np.abs(
        samples[[f"dg0:{r}" for r in constrained]].to_numpy()
        - textbook_energies.mean(constrained)
    )
    assert (deviation <= z * std.to_numpy() + 1e-6).all()
    # the band binds: samples come close to its edge (with the box alone they reached 5 sigma)
    uncertain = std.to_numpy() > 0
    assert (deviation[:, uncertain] / std.to_numpy()[uncertain]).max() > 0.9 * z


def test_sample_table_has_the_documented_columns(sampled, _textbook, textbook_energies):
    _, samples = sampled["glucose_aerobic"]
    reactions = [r.id for r in _textbook.reactions]
    metabolites = [m.id for m in _textbook.metabolites if not is_water_or_proton(m)]
    constrained = [r for r in textbook_energies.constrained if r != "H2Ot"]
    basis = uncertainty_basis(textbook_energies, constrained)
    expected = (
        [f"flux:{r}" for r in reactions]
        + [f"lnc:{m}" for m in metabolites]
        + [f"dg0:{r}" for r in constrained]
        + [f"dg:{r}" for r in constrained]
        + [f"m:{c}" for c in basis.columns]
    )
    assert list(samples.columns) == expected
    assert samples.index.name == "sample"
    assert np.isfinite(samples.to_numpy()).all()


def test_dg_agrees_with_equilibrator_dg_prime(sampled):
    # The concentration term against eQuilibrator's own dG' for the sample's concentrations:
    # checks the sign convention and the H2O/H+ exclusion. eQuilibrator rounds the gas
    # constant to 8.31e-3 kJ/mol/K; kinetigen uses CODATA's 8.314462618e-3, so the term is
    # compared in units of RT, and the whole dG' up to exactly that rounding.
    _, samples = sampled["glucose_aerobic"]
    cc = component_contribution(310.15)
    cc.p_h = Q_(7.5)
    cc.ionic_strength = Q_(0.25, "M")
    rt = 8.314462618e-3 * 310.15
    formulas = {
        "ATPM": ("atp + h2o = adp + pi + h", ["atp", "adp", "pi"]),
        "PGI": ("g6p = f6p", ["g6p", "f6p"]),
    }
    sample = samples.iloc[N_SAMPLES // 2]
    for reaction_id, (formula, metabolites) in formulas.items():
        reaction = cc.parse_reaction_formula(
            " ".join(f"bigg.metabolite:{t}" if t not in "+=" else t for t in formula.split())
        )
        for bigg_id in metabolites:
            compound = cc.get_compound(f"bigg.metabolite:{bigg_id}")
            reaction.set_abundance(compound, Q_(math.exp(sample[f"lnc:{bigg_id}_c"]), "M"))
        ln_term = (sample[f"dg:{reaction_id}"] - sample[f"dg0:{reaction_id}"]) / rt
        assert ln_term == pytest.approx(float(reaction.dg_correction()), abs=1e-9)
        mean = cc.standard_dg_prime(reaction).value.m_as("kJ/mol")
        at_mean = sample[f"dg:{reaction_id}"] - (sample[f"dg0:{reaction_id}"] - mean)
        rounding = (rt - cc.RT.m_as("kJ/mol")) * ln_term
        reference = cc.dg_prime(reaction).value.m_as("kJ/mol")
        assert at_mean == pytest.approx(reference + rounding, abs=1e-6)


def test_checker_fails_on_corrupted_samples(sampled, _textbook, textbook_energies,
                                            _default_config):
    env_name = "glucose_aerobic"
    summary, samples = sampled[env_name]
    active = [
        r for r, sign in summary["directionality"].items()
        if sign and f"dg:{r}" in samples.columns
    ]
    reaction_id = active[0]
    label = samples.index[3]

    flipped = samples.copy()  # wrong-signed dG, consistent dG'0 (so only the sign fails)
    shift = -2 * flipped.loc[label, f"dg:{reaction_id}"]
    flipped.loc[label, f"dg:{reaction_id}"] += shift
    with pytest.raises(SteadyStateViolation, match=f"sample {label}: dG sign.*{reaction_id}"):
        _check(flipped, _textbook, textbook_energies, _default_config, env_name, summary)

    unbalanced = samples.copy()
    unbalanced.loc[label, "flux:PGI"] += 1e-3
    violations = _check(unbalanced, _textbook, textbook_energies, _default_config, env_name,
                        summary, function=steady_state_violations)
    balance = violations[violations["check"] == "mass balance"]
    assert set(balance["id"]) == {"g6p_c", "f6p_c"} and set(balance["sample"]) == {label}

    too_dilute = samples.copy()
    too_dilute.loc[label, "lnc:atp_c"] = math.log(1e-7)
    with pytest.raises(SteadyStateViolation, match="ln c lower bound of atp_c"):
        _check(too_dilute, _textbook, textbook_energies, _default_config, env_name, summary)

    stretched = samples.copy()  # dG'0 pushed outside the uncertainty box
    stretched.loc[label, "m:pc0"] = 2.5
    violations = _check(stretched, _textbook, textbook_energies, _default_config, env_name,
                        summary, function=steady_state_violations)
    assert {"uncertainty |m|", "dg0 = mean + Q m"} <= set(violations["check"])

    # m in the box (a corner), dG'0 = mean + Q m and dG consistent, but the corner puts the
    # reaction the box stretches most beyond z sigma: only the band can catch it
    constrained = [c.removeprefix("dg0:") for c in samples.columns if c.startswith("dg0:")]
    basis = uncertainty_basis(textbook_energies, constrained)
    std = dg0_marginal_std(basis)
    reaction_id = (basis.abs().sum(axis=1) / std.where(std > 0)).idxmax()
    z = _default_config["thermo"]["z_score"]
    corner = samples.copy()
    m = z * np.sign(basis.loc[reaction_id].to_numpy())
    dg0 = textbook_energies.mean(constrained) + basis.to_numpy() @ m
    old_dg0 = corner.loc[label, [f"dg0:{r}" for r in constrained]].to_numpy()
    corner.loc[label, [f"m:{c}" for c in basis.columns]] = m
    corner.loc[label, [f"dg0:{r}" for r in constrained]] = dg0
    corner.loc[label, [f"dg:{r}" for r in constrained]] += dg0 - old_dg0
    violations = _check(corner, _textbook, textbook_energies, _default_config, env_name,
                        summary, function=steady_state_violations)
    band = violations[violations["check"] == "dg0 band |dg0 - mean| <= z std"]
    assert reaction_id in set(band["id"]) and set(band["sample"]) == {label}
    assert not {"uncertainty |m|", "dg0 = mean + Q m", "dg = dg0 + RT sum nu ln c"} & set(
        violations["check"]
    )
    stretched_row = band[band["id"] == reaction_id].iloc[0]
    assert stretched_row["value"] > 2 * stretched_row["limit"]  # the corner is 4.5 z sigma out

    slow = samples.copy()
    slow[f"flux:{BIOMASS}"] = 0.5 * summary["min_growth"]
    violations = _check(slow, _textbook, textbook_energies, _default_config, env_name,
                        summary, function=steady_state_violations)
    assert (violations["check"] == "growth minimum").sum() == N_SAMPLES


def test_same_seed_same_samples(sampled, _textbook, textbook_energies, _default_config):
    summary, samples = sampled["glucose_aerobic"]
    again = _sample(_textbook, textbook_energies, _default_config, "glucose_aerobic", summary)
    assert np.array_equal(again.to_numpy(), samples.to_numpy())
    other = _sample(_textbook, textbook_energies, _default_config, "glucose_aerobic", summary,
                    seed=SEED + 1)
    assert not np.allclose(other.to_numpy(), samples.to_numpy())


def test_achr_sampler_also_gives_valid_samples(sampled, _textbook, textbook_energies,
                                               _default_config):
    summary, _ = sampled["glucose_aerobic"]
    samples = _sample(_textbook, textbook_energies, _default_config, "glucose_aerobic", summary,
                      sampler="achr", n_samples=20)
    assert len(samples) == 20
    _check(samples, _textbook, textbook_energies, _default_config, "glucose_aerobic", summary)


def test_profile_that_contradicts_the_bounds_is_an_error(sampled, _textbook, textbook_energies,
                                                         _default_config):
    summary, _ = sampled["glucose_aerobic"]
    broken = dict(summary, directionality=dict(summary["directionality"], ATPM=0))
    with pytest.raises(ValueError, match="glucose_aerobic.*ATPM"):
        _sample(_textbook, textbook_energies, _default_config, "glucose_aerobic", broken)


def test_lag_one_autocorrelation_of_known_chains():
    rng = np.random.default_rng(3)
    n = 20000
    ar = np.empty(n)
    ar[0] = 0.0
    noise = rng.normal(size=n)
    for t in range(1, n):
        ar[t] = 0.8 * ar[t - 1] + noise[t]
    frame = pd.DataFrame({"a": ar, "b": 0.8 * ar + 3.0, "c": np.full(n, 2.0)})
    assert lag_one_autocorrelation(frame) == pytest.approx(0.8, abs=0.02)
    independent = pd.DataFrame(rng.normal(size=(n, 3)))
    assert abs(lag_one_autocorrelation(independent)) < 0.03
