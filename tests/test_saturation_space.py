"""The generator in saturation space (generator.output_space: saturation): Km = x (1 - s) / s
with s in the configured saturation range, clamped into the Km bounds; training, evaluation
and a saved generator give the same Km."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kinetigen.es import build_optimizer, evaluate_generator, train
from kinetigen.es.kinetic import run_key
from kinetigen.es.problem import Environment, GeneratorProblem
from kinetigen.es.toy import make_toy_setup
from kinetigen.generator import (
    ConditionEncoder,
    Generator,
    flatten_parameters,
    forward_population,
    load_generator,
    save_generator,
)
from kinetigen.schema import ConfigError
from kinetigen.settings import WorkflowSettings

LN_BOUNDS = (math.log(1e-8), math.log(1.0))


def _fixed_output_generator(fractions, saturation_range, lower=None, upper=None):
    """A saturation-space generator whose output ignores z: the output layer's weights are
    zero and its bias puts each parameter at ``fractions`` (0: lowest, 1: highest Km) of
    its interval."""
    n = len(fractions)
    lower = torch.full((n,), LN_BOUNDS[0]) if lower is None else torch.as_tensor(lower)
    upper = torch.full((n,), LN_BOUNDS[1]) if upper is None else torch.as_tensor(upper)
    generator = Generator(
        lower,
        upper,
        latent_dim=2,
        hidden=(4,),
        output_space="saturation",
        saturation_range=saturation_range,
    )
    with torch.no_grad():
        generator.output.weight.zero_()
        generator.output.bias.copy_(torch.atanh(2.0 * torch.as_tensor(fractions) - 1.0))
    return generator


def test_km_is_x_times_one_minus_s_over_s():
    fractions = torch.tensor([0.5, 0.1, 0.9], dtype=torch.float64)
    s_low, s_high = 0.05, 0.9
    generator = _fixed_output_generator(fractions, (s_low, s_high))
    x = torch.tensor([[1e-3, 2e-4, 5e-3], [1e-5, 1e-4, 1e-3]], dtype=torch.float64)
    z = torch.randn(2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ln_km = generator(z, None, torch.log(x))
    # The output moves linearly in logit(s) from s_high (fraction 0) to s_low (fraction 1).
    logit = math.log(s_high / (1 - s_high)) - fractions * (
        math.log(s_high / (1 - s_high)) - math.log(s_low / (1 - s_low))
    )
    s = torch.sigmoid(logit)
    torch.testing.assert_close(ln_km, torch.log(x * (1 - s) / s), rtol=0, atol=1e-12)
    saturation = x / (x + torch.exp(ln_km))
    torch.testing.assert_close(saturation, s.expand_as(saturation), rtol=0, atol=1e-12)
    # The symmetric range's midpoint is Km = x.
    middle = _fixed_output_generator(torch.full((3,), 0.5), (0.01, 0.99))
    torch.testing.assert_close(middle(z, None, torch.log(x)), torch.log(x), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="needs ln x"):
        generator(z)


def test_saturation_interval_is_clamped_into_the_km_bounds_and_keeps_measured_km():
    lower = torch.log(torch.tensor([1e-8, 1e-8, 2.9e-3, 3e-5], dtype=torch.float64))
    upper = torch.log(torch.tensor([1.0, 1.0, 2.9e-3, 1e-3], dtype=torch.float64))
    generator = Generator(
        lower, upper, latent_dim=3, hidden=(8,), seed=1, output_init_scale=20.0,
        output_space="saturation", saturation_range=(0.01, 0.99),
    )  # fmt: skip
    n = 2000
    # x near the upper bound (the interval's top is clamped), x at 1e-3, x absent (NaN).
    ln_x = torch.log(torch.tensor([[0.5, 1e-3, 1e-4, 1e-4]], dtype=torch.float64)).repeat(n, 1)
    ln_x[n // 2 :, 1] = float("nan")
    ln_km = generator.sample(n, None, torch.Generator().manual_seed(0), ln_x)
    assert bool(((ln_km >= lower) & (ln_km <= upper)).all())

    # Output scale 20 drives tanh to both ends: the clamped interval's ends are reached.
    def ends(column):
        return float(column.min()), float(column.max())

    near = {"abs": 1e-3}
    assert ends(ln_km[:, 0]) == pytest.approx((math.log(0.5 / 99), LN_BOUNDS[1]), **near)
    present = ln_km[: n // 2, 1]
    assert ends(present) == pytest.approx((math.log(1e-3 / 99), math.log(1e-3 * 99)), **near)
    # Where the model lacks the parameter, the output spans the Km bounds (its value is unused).
    assert ends(ln_km[n // 2 :, 1]) == pytest.approx(LN_BOUNDS, **near)
    # A measured value is that constant; a measured range meets the saturation interval.
    assert bool((ln_km[:, 2] == math.log(2.9e-3)).all())
    assert ends(ln_km[:, 3]) == pytest.approx((math.log(3e-5), math.log(1e-3)), **near)


def _toy_saturation_problem(seed: int):
    setup = make_toy_setup(n_species=4, steady_states_per_environment=5, seed=3)
    names = setup.environment_names[:3]
    fitted = setup.steady_states["environment"].isin(names)
    encoder = ConditionEncoder(2).fit(setup.steady_states[fitted])
    environments = [
        Environment(
            name,
            setup.kinetics[name],
            setup.thresholds[name],
            conditions=encoder.transform_tensor(setup.table(name)),
            ln_concentration=setup.kinetics[name].ln_x,
        )
        for name in names
    ]
    generator = Generator(
        setup.lower, setup.upper, latent_dim=3, condition_dim=2, hidden=(16,), seed=seed,
        output_space="saturation", saturation_range=(0.02, 0.98),
    )  # fmt: skip
    return GeneratorProblem(generator, environments, models_per_member=20), encoder


def test_training_in_saturation_space_is_reproducible_and_a_saved_generator_gives_its_km(
    tmp_path,
):
    runs = []
    for _ in range(2):
        problem, encoder = _toy_saturation_problem(seed=4)
        optimizer = build_optimizer("trnes", flatten_parameters(problem.generator), seed=5)
        runs.append((problem, encoder, train(problem, optimizer, max_generations=6)))
    (problem, encoder, result), (_, _, again) = runs
    assert torch.equal(result.weights, again.weights)
    environments = problem.environments
    table = evaluate_generator(problem.generator, result.weights, environments, n_models=200)
    assert (table["incidence"] > 0).all()
    # Saved and loaded: the same Km for the same latent draws, conditions and concentrations.
    path = tmp_path / "generator.pt"
    save_generator(path, problem.generator, result.weights, encoder, {"seed": 4})
    loaded, loaded_encoder, _ = load_generator(path)
    assert loaded.output_space == "saturation" and loaded.saturation_range == (0.02, 0.98)
    env = environments[1]
    idx = torch.arange(env.n_steady_states).repeat(4)
    z = torch.randn(len(idx), 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    ln_x = env.ln_concentration[idx]
    before = forward_population(
        problem.generator, result.weights[None], z, env.conditions[idx], ln_x
    )
    after = loaded(z, env.conditions[idx], ln_x)
    # The population's batched matmuls and one model's may round differently in the last bit.
    torch.testing.assert_close(before[0], after.detach(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(loaded_encoder.components, encoder.components)
    reloaded = evaluate_generator(loaded, flatten_parameters(loaded), environments, n_models=200)
    assert reloaded["incidence"].tolist() == table["incidence"].tolist()


def test_saturation_space_needs_conditional_mode_and_concentrations():
    problem, _ = _toy_saturation_problem(seed=0)
    unconditional = Generator(
        problem.generator.lower, problem.generator.upper, latent_dim=3, hidden=(8,),
        output_space="saturation",
    )  # fmt: skip
    with pytest.raises(ConfigError, match="'generator.output_space'.*conditional"):
        GeneratorProblem(unconditional, problem.environments, mode="shared")
    bare = [
        Environment(env.name, env.lambda_max, env.thresholds, env.conditions)
        for env in problem.environments
    ]
    with pytest.raises(ValueError, match="output_space 'saturation' needs ln_concentration"):
        GeneratorProblem(problem.generator, bare)
    with pytest.raises(ConfigError, match="'generator.output_space'.*conditional"):
        WorkflowSettings.from_section(
            {"generator": {"output_space": "saturation"}, "training": {"mode": "shared"}}
        )
    with pytest.raises(ConfigError, match="generator.saturation_range"):
        WorkflowSettings.from_section({"generator": {"saturation_range": [0.9, 0.1]}})
    with pytest.raises(ConfigError, match="generator.output_space"):
        WorkflowSettings.from_section({"generator": {"output_space": "km"}})


def test_run_key_holds_the_output_space_unless_ln_km():
    positions = {"a": [0, 1]}
    default = run_key(WorkflowSettings.from_section({}), "trnes", 0, "conditional", positions)
    assert default["generator"]["output_space"] == "saturation"
    assert default["generator"]["saturation_range"] == [0.02, 0.98]
    # ln_km (the default before issue 13) keeps the key it had then: its checkpoints resume.
    ln_km = WorkflowSettings.from_section({"generator": {"output_space": "ln_km"}})
    key = run_key(ln_km, "trnes", 0, "conditional", positions)
    assert "output_space" not in key["generator"]
    assert "saturation_range" not in key["generator"]
