"""Adaptation in a weight subspace (kinetigen.es.subspace): each subspace moves exactly the
weights it names, output_affine scales and shifts the output pre-activation, a problem
searched in a subspace scores the embedded weights; the monitor's Km spread and the reward's
spread floor tell and penalise a generator that narrowed its Km to a point."""

from __future__ import annotations

import pytest
import torch

from kinetigen.es import build_optimizer, train
from kinetigen.es.subspace import SubspaceProblem, weight_subspace
from kinetigen.generator import flatten_parameters
from kinetigen.generator.model import Generator, unflatten_parameters


@pytest.fixture
def generator():
    lower, upper = torch.full((5,), -12.0), torch.full((5,), 0.0)
    return Generator(lower, upper, latent_dim=3, condition_dim=2, hidden=(7, 6), seed=4)


@pytest.mark.parametrize(
    ("kind", "directions", "moved"),
    [
        ("output_bias", 5, {"output.bias"}),
        ("output", 6 * 5 + 5, {"output.weight", "output.bias"}),
        ("output_affine", 10, {"output.weight", "output.bias"}),
    ],
)
def test_a_subspace_moves_only_the_weights_it_names(generator, kind, directions, moved):
    start = flatten_parameters(generator)
    subspace = weight_subspace(generator, start, kind)
    assert subspace.n_directions == directions
    assert torch.equal(subspace.embed(torch.zeros(directions, dtype=torch.float64)), start)
    theta = torch.randn(3, directions, generator=torch.Generator().manual_seed(0))
    embedded = subspace.embed(theta)
    assert embedded.shape == (3, start.numel())
    before = unflatten_parameters(generator, start)
    after = unflatten_parameters(generator, embedded)
    for name, value in after.items():
        changed = not torch.equal(value, before[name].expand_as(value))
        assert changed == (name in moved), name


def test_output_affine_scales_and_shifts_each_output(generator):
    start = flatten_parameters(generator)
    subspace = weight_subspace(generator, start, "output_affine")
    scale = torch.tensor([1.0, 0.0, -0.5, 2.0, 0.0], dtype=torch.float64)
    shift = torch.tensor([0.0, 0.3, 0.0, -1.0, 0.0], dtype=torch.float64)
    after = unflatten_parameters(generator, subspace.embed(torch.cat([scale, shift])))
    before = unflatten_parameters(generator, start)
    factor = (1.0 + scale).unsqueeze(1)
    torch.testing.assert_close(after["output.weight"], factor * before["output.weight"])
    torch.testing.assert_close(
        after["output.bias"], (1.0 + scale) * before["output.bias"] + shift
    )


def test_all_is_no_subspace_and_an_unknown_kind_is_named(generator):
    start = flatten_parameters(generator)
    assert weight_subspace(generator, start, "all") is None
    with pytest.raises(ValueError, match="hidden_only"):
        weight_subspace(generator, start, "hidden_only")


def test_a_subspace_problem_scores_the_embedded_weights_and_trains(toy, make_toy_problem):
    problem, _ = make_toy_problem(toy, ["toy_glucose"], "conditional", 2, 40, (16,), seed=1)
    start = flatten_parameters(problem.generator)
    subspace = weight_subspace(problem.generator, start, "output_affine")
    searched = SubspaceProblem(problem, subspace)
    assert searched.n_weights == subspace.n_directions
    assert searched.environment_names == problem.environment_names
    theta = 0.3 * torch.randn(4, searched.n_weights, generator=torch.Generator().manual_seed(2))
    batch = problem.sample_batch(torch.Generator().manual_seed(3))
    torch.testing.assert_close(
        searched.evaluate(theta, batch).lambda_max,
        problem.evaluate(subspace.embed(theta), batch).lambda_max,
    )
    zero = torch.zeros(searched.n_weights, dtype=torch.float64)
    optimizer = build_optimizer("trnes", zero, seed=0, options={"sigma0": 0.3})
    result = train(searched, optimizer, max_generations=3, monitor_models=50, monitor_start=True)
    assert result.weights.numel() == searched.n_weights
    assert result.history["generation"].tolist() == [0, 1, 2, 3]


def test_the_monitor_spread_tells_a_generator_that_narrowed_to_a_point(toy, make_toy_problem):
    problem, _ = make_toy_problem(toy, ["toy_glucose"], "conditional", 2, 40, (16,), seed=1)
    weights = flatten_parameters(problem.generator)
    batch = problem.sample_batch(torch.Generator().manual_seed(3), 60)
    [spread] = problem.ln_km_spread(weights, batch)
    # Against a direct computation: sd over the models of each steady state, median.
    [idx] = batch.steady_state_idx
    conditions = problem.environments[0].conditions[idx]
    with torch.no_grad():
        ln_km = problem.generator(batch.z, conditions)
    expected = torch.cat([ln_km[idx == s].std(dim=0) for s in torch.unique(idx)]).median()
    assert spread == pytest.approx(float(expected)) and spread > 0.05
    # Zero output weights: every latent draw gives the same Km, whatever the bias.
    subspace = weight_subspace(problem.generator, weights, "output_affine")
    n_out = problem.generator.n_params
    collapsed = torch.cat([-torch.ones(n_out), torch.zeros(n_out)]).double()
    [narrow] = SubspaceProblem(problem, subspace).ln_km_spread(collapsed, batch)
    assert narrow == pytest.approx(0.0, abs=1e-12)
    result = train(
        problem, build_optimizer("trnes", weights, seed=0), max_generations=2, monitor_models=30
    )
    assert result.history["monitor_spread:toy_glucose"].gt(0).all()


def test_a_spread_floor_takes_reward_from_a_member_that_narrows(toy, make_toy_problem):
    def problem_with(floor):
        return make_toy_problem(
            toy, ["toy_glucose"], "conditional", 2, 40, (16,), seed=1, spread_floor=floor
        )[0]

    plain = problem_with(None)
    weights = flatten_parameters(plain.generator)
    subspace = weight_subspace(plain.generator, weights, "output_affine")
    n_out = plain.generator.n_params
    collapsed = subspace.embed(torch.cat([-torch.ones(n_out), torch.zeros(n_out)]).double())
    members = torch.stack([weights, collapsed])
    batch = plain.sample_batch(torch.Generator().manual_seed(3))
    base = plain.evaluate(members, batch)
    assert base.spread_shortfall is None
    for floor, expected in ((1e-9, [0.0, 1.0]), (1e9, [1.0, 1.0])):
        floored = problem_with(floor).evaluate(members, batch)
        shortfall = floored.spread_shortfall[:, 0]
        torch.testing.assert_close(shortfall, torch.tensor(expected, dtype=torch.float64))
        torch.testing.assert_close(floored.fitness[:, 0], base.fitness[:, 0] - shortfall)
        lowered = base.model_scores - shortfall[:, None, None]
        torch.testing.assert_close(floored.model_scores, lowered)
        assert torch.equal(floored.incidence, base.incidence)  # validity itself is unchanged
    assert problem_with(2.0).subset([0]).spread_floor == 2.0
