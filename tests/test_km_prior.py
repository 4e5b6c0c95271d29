"""The Km prior (kinetics.km_prior), the reward's Km regulariser (training.km_regulariser) and
the generator's output range from the prior (generator.output_range): units and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from kinetigen.es.problem import Environment, GeneratorProblem
from kinetigen.es.regulariser import KmRegulariser, km_regulariser
from kinetigen.es.toy import make_toy_setup
from kinetigen.generator import Generator
from kinetigen.kinetics.prior import KmPrior, generator_bounds
from kinetigen.schema import ConfigError
from kinetigen.settings import WorkflowSettings


def test_truncated_prior_draw_follows_the_prior():
    prior = KmPrior(1.0e-4, 1.0)
    rng = np.random.default_rng(7)
    uniform = rng.random((20_000, 2))
    lower, upper = np.log([1.0e-8, 1.0e-5]), np.log([1.0, 1.0e-2])
    ln_km = prior.ln_km_from_uniform(uniform, lower, upper)
    assert (ln_km >= lower).all() and (ln_km <= upper).all()
    for column in range(2):
        a, b = prior.z(lower[column]), prior.z(upper[column])
        test = scipy.stats.kstest(prior.z(ln_km[:, column]), scipy.stats.truncnorm(a, b).cdf)
        assert test.pvalue > 0.01, column
    # Wide bounds (+-4 sd): median 1e-4 M, one decade of log10 Km.
    log10_km = ln_km[:, 0] / math.log(10)
    assert abs(np.median(log10_km) + 4.0) < 0.03
    assert abs(np.std(log10_km) - 1.0) < 0.03


def test_generator_bounds_from_the_prior_keep_measured_and_narrow_bounds():
    prior = KmPrior(1.0e-4, 1.0)
    lower = np.log([1e-8, 1e-8, 1e-8, 1e-3])
    upper = np.log([1.0, 1.0, 1e-5, 1.0])
    measured = (np.array([1]), np.log([2e-1]), np.log([2e-1]))
    low, high = generator_bounds(lower, upper, prior, 2.0, measured)
    np.testing.assert_allclose(np.exp(low), [1e-6, 2e-1, 1e-6, 1e-3])
    np.testing.assert_allclose(np.exp(high), [1e-2, 2e-1, 1e-5, 1e-2])
    # Whatever the weights, the generator's outputs stay inside and the measured one is fixed.
    generator = Generator(low, high, latent_dim=3, hidden=(8,), seed=1, output_init_scale=20.0)
    draws = generator.sample(2000, generator=torch.Generator().manual_seed(0))
    assert bool((draws >= torch.as_tensor(low)).all() & (draws <= torch.as_tensor(high)).all())
    assert bool((draws[:, 1] == math.log(2e-1)).all())


def test_saturation_penalty_counts_saturations_near_zero_and_one():
    regulariser = KmRegulariser(1.0)
    ln_x = torch.log(torch.tensor([[1e-3, 1e-3, 1e-3, float("nan")]], dtype=torch.float64))
    # Saturations 0.5, ~1 (Km = x / 1000), ~0 (Km = 1000 x); the NaN parameter is left out.
    ln_km = ln_x.nan_to_num(0.0) + torch.log(torch.tensor([[1.0, 1e-3, 1e3, 1.0]]))
    assert float(regulariser.model_penalty(ln_km, ln_x)[0]) == pytest.approx(2 / 3)
    middle = ln_x.nan_to_num(0.0).clone()
    assert float(regulariser.model_penalty(middle, ln_x)[0]) == 0.0
    prior = KmRegulariser(1.0, "prior", prior=KmPrior(1e-4, 1.0))
    at_median = torch.full((1, 4), math.log(1e-4), dtype=torch.float64)
    assert float(prior.model_penalty(at_median, ln_x)[0]) == 0.0
    two_decades = at_median + 2 * math.log(10)
    assert float(prior.model_penalty(two_decades, ln_x)[0]) == pytest.approx(2.0)


def _toy_environments(setup, with_concentrations=True):
    return [
        Environment(
            name,
            setup.kinetics[name],
            setup.thresholds[name],
            ln_concentration=setup.kinetics[name].ln_x if with_concentrations else None,
        )
        for name in setup.environment_names[:2]
    ]


def test_regulariser_is_subtracted_from_the_reward_and_off_at_weight_zero():
    setup = make_toy_setup(n_species=4, steady_states_per_environment=5, seed=3)
    generator = Generator(setup.lower, setup.upper, latent_dim=3, hidden=(8,), seed=0)
    environments = _toy_environments(setup)
    weights = torch.randn(4, generator.n_weights, generator=torch.Generator().manual_seed(2))
    plain = GeneratorProblem(generator, environments, mode="shared", models_per_member=30)
    batch = plain.sample_batch(torch.Generator().manual_seed(5))
    base = plain.evaluate(weights, batch)
    assert base.penalty is None
    regulariser = KmRegulariser(0.5)
    penalised = GeneratorProblem(
        generator, environments, mode="shared", models_per_member=30, regulariser=regulariser
    ).evaluate(weights, batch)
    assert torch.equal(penalised.lambda_max, base.lambda_max)
    assert bool((penalised.penalty > 0).all())
    torch.testing.assert_close(penalised.fitness, base.fitness - 0.5 * penalised.penalty)
    # The default config builds no regulariser; the saturation penalty needs concentrations.
    assert km_regulariser({}) is None
    with pytest.raises(ValueError, match="needs ln_concentration"):
        GeneratorProblem(
            generator, _toy_environments(setup, False), mode="shared", regulariser=regulariser
        )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"kinetics": {"km_prior": {"kind": "lognormal", "log10_sd": -0.5}}}, "km_prior.log10_sd"),
        ({"kinetics": {"km_prior": {"kind": "lognormal", "median_M": 3.0}}}, "km_prior.median_M'"),
        ({"generator": {"output_range": "prior"}}, "'generator.output_range'.*km_prior"),
        (
            {"training": {"km_regulariser": {"weight": 1.0, "kind": "prior"}}},
            "'training.km_regulariser.kind'.*km_prior",
        ),
        ({"training": {"km_regulariser": {"weight": -1.0}}}, "km_regulariser.weight"),
        (
            {"training": {"km_regulariser": {"saturation_range": [0.9, 0.1]}}},
            "km_regulariser.saturation_range",
        ),
    ],
)
def test_bad_km_options_are_named(section, message):
    with pytest.raises(ConfigError, match=message):
        WorkflowSettings.from_section(section)


def test_validate_config_names_km_options_before_any_job(default_config):
    from kinetigen.config import validate_config

    default_config["generator"] = {**default_config["generator"], "output_range": "prior"}
    with pytest.raises(ConfigError, match="'generator.output_range'.*km_prior"):
        validate_config(default_config)
    default_config["kinetics"] = {
        **default_config["kinetics"],
        "km_prior": {"kind": "lognormal", "median_M": 2.0},
    }
    with pytest.raises(ConfigError, match="'kinetics.km_prior.median_M': 2 M lies outside"):
        validate_config(default_config)
