"""Problem and optimisers: utilities, KL trust region, sigma caps, RENAISSANCE's formulas, pycma."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from kinetigen.es import (
    Batch,
    Environment,
    EvaluationResult,
    GeneratorProblem,
    RenaissanceES,
    RenaissanceOursES,
    SepCMA,
    TrustRegionNES,
    balanced_indices,
    build_optimizer,
    combined_utilities,
    kl_mean_part,
    kl_sigma_part,
    limit_sigma_step,
    paired_difference,
    project_mean_step,
    rank_utilities,
)
from kinetigen.es.renaissance import (
    eigenvalue_reward,
    incidence_reward,
    log_eigenvalue_reward,
)
from kinetigen.generator import Generator, flatten_parameters


@pytest.fixture
def make_problem(make_toy_problem):
    """A toy problem with this module's small generator (hidden (8,), 20 models)."""

    def build(toy, mode="conditional", models=20, names=None, **options):
        return make_toy_problem(
            toy, names, mode, models_per_member=models, hidden=(8,), **options
        )[0]

    return build


# --- utilities -------------------------------------------------------------------------------


def test_rank_utilities_order_sum_and_ties():
    fitness = torch.tensor([0.3, 0.9, 0.1, 0.5, 0.7, 0.2], dtype=torch.float64)
    u = rank_utilities(fitness)
    assert abs(float(u.sum())) < 1e-12
    order = torch.argsort(fitness)
    assert torch.all(u[order][1:] >= u[order][:-1])
    assert u[1] == u.max() and u[2] == u.min()
    tied = rank_utilities(torch.tensor([0.5, 0.5, 0.2, 0.5], dtype=torch.float64))
    assert tied[0] == tied[1] == tied[3] and tied[2] < tied[0]
    assert abs(float(tied.sum())) < 1e-12
    assert torch.equal(rank_utilities(torch.zeros(6, dtype=torch.float64)), torch.zeros(6))


def test_combined_utilities_weigh_environments_equally():
    # Environment 0 is easy (big differences), environment 1 hard (tiny ones): ranks, not
    # raw values, so member 3 (best on the hard one) is not drowned.
    fitness = torch.tensor(
        [[0.9, 0.001], [0.5, 0.002], [0.1, 0.003], [0.0, 0.004]], dtype=torch.float64
    )
    u = combined_utilities(fitness)
    expected = 0.5 * (rank_utilities(fitness[:, 0]) + rank_utilities(fitness[:, 1]))
    torch.testing.assert_close(u, expected)
    torch.testing.assert_close(u[0], u[3])


def test_kl_parts_match_torch_distributions():
    rng = torch.Generator().manual_seed(0)
    for _ in range(20):
        d = 50
        mu = torch.randn(d, generator=rng, dtype=torch.float64)
        sigma = torch.exp(torch.randn(d, generator=rng, dtype=torch.float64))
        step = 0.3 * torch.randn(d, generator=rng, dtype=torch.float64)
        factor = torch.exp(0.2 * torch.randn(d, generator=rng, dtype=torch.float64))
        reference = kl_divergence(Normal(mu + step, sigma * factor), Normal(mu, sigma)).sum()
        ours = kl_mean_part(step, sigma) + kl_sigma_part(factor)
        assert math.isclose(ours, float(reference), rel_tol=1e-10)


def test_mean_projection_never_exceeds_budget():
    rng = np.random.default_rng(7)
    for case in range(500):
        d = int(rng.integers(1, 300))
        sigma = torch.as_tensor(np.exp(rng.normal(0, 2, d)))
        step = torch.as_tensor(rng.normal(0, 10 ** rng.uniform(-4, 2), d))
        budget = float(10 ** rng.uniform(-8, 3)) * (0 if case % 97 == 0 else 1)
        projected, kl = project_mean_step(step, sigma, budget)
        assert kl <= budget
        assert kl == kl_mean_part(projected, sigma)
        original = kl_mean_part(step, sigma)
        if original <= budget:
            assert torch.equal(projected, step)
        else:
            # Meets the budget (exact projection), along the same direction.
            assert kl >= budget * (1 - 1e-12)
            scale = float(projected @ step / (step @ step))
            torch.testing.assert_close(projected, scale * step, rtol=1e-12, atol=0)


def test_sigma_step_respects_caps_and_budget():
    rng = np.random.default_rng(11)
    for _ in range(300):
        d = int(rng.integers(1, 200))
        step = torch.as_tensor(rng.normal(0, 10 ** rng.uniform(-3, 1), d))
        budget = float(10 ** rng.uniform(-6, 2))
        factors, kl, fraction = limit_sigma_step(step, budget, 0.8, 1.2)
        assert torch.all(factors >= 0.8) and torch.all(factors <= 1.2)
        assert kl <= budget
        assert 0.0 <= fraction <= 1.0
        if fraction == 1.0:
            torch.testing.assert_close(factors, torch.exp(step.clamp(math.log(0.8), math.log(1.2))))
        else:
            # Bisection ends at the budget (up to the bracket width), not far inside it.
            nudged = torch.exp(((fraction + 1e-9) * step).clamp(math.log(0.8), math.log(1.2)))
            assert kl_sigma_part(nudged) >= budget * (1 - 1e-6)


def test_paired_difference_against_formula():
    new = torch.tensor([[1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    old = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    mean, stderr = paired_difference(new, old)
    d0, d1 = np.array([0, 1, 0, 1.0]), np.array([-1, 0, 0, 1.0])
    se0, se1 = d0.std(ddof=1) / 2, d1.std(ddof=1) / 2
    assert math.isclose(mean, (d0.mean() + d1.mean()) / 2)
    assert math.isclose(stderr, math.sqrt(se0**2 + se1**2) / 2)


# --- problem ---------------------------------------------------------------------------------


def test_balanced_indices_cover_states_evenly():
    rng = torch.Generator().manual_seed(0)
    for n_states, n_models in [(5, 23), (7, 7), (10, 3), (1, 4)]:
        idx = balanced_indices(n_states, n_models, rng)
        assert idx.shape == (n_models,)
        counts = torch.bincount(idx, minlength=n_states)
        assert int(counts.max() - counts.min()) <= 1


def test_problem_incidence_matches_direct_evaluation(toy, make_problem):
    problem = make_problem(toy)
    rng = torch.Generator().manual_seed(1)
    batch = problem.sample_batch(rng)
    centre = flatten_parameters(problem.generator)
    weights = centre + 0.5 * torch.randn(4, centre.numel(), generator=rng, dtype=torch.float64)
    result = problem.evaluate(weights, batch)
    assert result.incidence.shape == (4, 3)
    assert result.n_model_evaluations == 4 * 20 * 3
    for member in range(4):
        single = problem.evaluate(weights[member], batch)  # common random numbers
        torch.testing.assert_close(single.lambda_max[0], result.lambda_max[member])
        for e, env in enumerate(problem.environments):
            idx = batch.steady_state_idx[e]
            from kinetigen.generator import load_flat_parameters

            load_flat_parameters(problem.generator, weights[member])
            with torch.no_grad():
                ln_km = problem.generator(batch.z, env.conditions[idx])
            lam = toy.kinetics[env.name](ln_km, idx)
            valid = (lam < env.thresholds[idx]).double()
            assert math.isclose(float(result.incidence[member, e]), float(valid.mean()))
            smooth = torch.sigmoid((env.thresholds[idx] - lam) / problem.tie_scale).mean()
            assert math.isclose(float(result.smooth[member, e]), float(smooth), rel_tol=1e-12)
    fitness = result.incidence + problem.tie_weight * result.smooth
    torch.testing.assert_close(result.fitness, fitness)


def test_shared_mode_counts_models_valid_everywhere(toy, make_problem):
    problem = make_problem(toy, mode="shared", models=40)
    rng = torch.Generator().manual_seed(2)
    batch = problem.sample_batch(rng)
    weights = flatten_parameters(problem.generator).unsqueeze(0)
    result = problem.evaluate(weights, batch)
    valid = torch.stack(
        [
            result.lambda_max[0, e] < env.thresholds[batch.steady_state_idx[e]]
            for e, env in enumerate(problem.environments)
        ]
    )
    assert result.objective_incidence.shape == (1, 1)
    assert math.isclose(
        float(result.objective_incidence[0, 0]), float(valid.all(0).double().mean())
    )
    assert problem.objective_names == ["all"]


def test_problem_rejects_bad_setups(toy):
    generator = Generator(toy.lower, toy.upper, condition_dim=0)
    with pytest.raises(ValueError, match="conditional generator"):
        GeneratorProblem(generator, toy.environments(), mode="conditional")
    with pytest.raises(ValueError, match="exactly one"):
        GeneratorProblem(generator, toy.environments(), mode="per-environment")
    with pytest.raises(ValueError, match="training.mode"):
        GeneratorProblem(generator, toy.environments(), mode="pooled")
    conditional = Generator(toy.lower, toy.upper, condition_dim=2)
    with pytest.raises(ValueError, match="toy_glucose"):
        GeneratorProblem(conditional, toy.environments(), mode="conditional")
    with pytest.raises(ValueError, match="unconditional"):
        GeneratorProblem(conditional, toy.environments(), mode="shared")


# --- trust-region NES ------------------------------------------------------------------------


def test_trnes_population_is_antithetic(toy, make_problem):
    problem = make_problem(toy)
    optimizer = TrustRegionNES(flatten_parameters(problem.generator), seed=0, population_size=6)
    members, directions = optimizer.ask()
    torch.testing.assert_close(directions[:3], -directions[3:])
    torch.testing.assert_close(members, optimizer.mean + optimizer.sigma * directions)


def test_trnes_steps_respect_trust_region_and_sigma_caps(toy, make_problem):
    problem = make_problem(toy, models=16)
    # Aggressive learning rates so the budgets and caps actually bind.
    optimizer = TrustRegionNES(
        flatten_parameters(problem.generator),
        seed=1,
        population_size=8,
        sigma0=0.1,
        eta_mean=20.0,
        eta_sigma=5.0,
        kl_mean_per_weight=0.005,
        kl_sigma_per_weight=0.0005,
    )
    n_weights = optimizer.n_weights
    bound_mean = bound_sigma = rejected = 0
    for _ in range(25):
        mean, sigma, radius = optimizer.mean.clone(), optimizer.sigma.clone(), optimizer.radius
        info = optimizer.step(problem)
        ratio = optimizer.sigma / sigma
        assert torch.all(ratio >= 0.8 * (1 - 1e-15)) and torch.all(ratio <= 1.2 * (1 + 1e-15))
        kl_mean = kl_mean_part(optimizer.mean - mean, sigma)
        kl_sigma = kl_sigma_part(ratio)
        assert kl_mean <= radius * 0.005 * n_weights * (1 + 1e-12)
        assert kl_sigma <= radius * 0.0005 * n_weights * (1 + 1e-12)
        assert math.isclose(kl_mean, info["kl_mean"], rel_tol=1e-9, abs_tol=1e-12)
        bound_mean += info["kl_mean_proposed"] >= info["kl_mean_budget"] * (1 - 1e-9)
        bound_sigma += info["kl_sigma"] >= info["kl_sigma_budget"] * (1 - 1e-6)
        # Radius rule: shrink on rejection (mean kept), grow on clear gains, within bounds.
        if not info["accepted"]:
            rejected += 1
            assert torch.equal(optimizer.mean, mean)
            assert optimizer.radius == max(optimizer.radius_min, radius * 0.5)
        elif info["paired_difference"] > info["paired_stderr"] and info["paired_difference"] > 0:
            assert optimizer.radius == min(optimizer.radius_max, radius * 1.5)
        else:
            assert optimizer.radius == radius
    # The properties were exercised, not vacuous: budgets bound and some steps were rejected.
    assert bound_mean > 0 and bound_sigma > 0 and rejected > 0


def test_trnes_acceptance_rejects_a_harmful_step_and_keeps_a_good_one(toy, make_problem):
    problem = make_problem(toy, models=30)
    optimizer = TrustRegionNES(
        flatten_parameters(problem.generator), seed=2, population_size=8, acceptance_models=60
    )
    for _ in range(15):  # train a little so that the centre is worth keeping
        optimizer.step(problem)
    good = optimizer.mean.clone()
    rng = torch.Generator().manual_seed(0)
    harmful = good + 3.0 * torch.randn(good.numel(), generator=rng, dtype=torch.float64)
    accepted, difference, stderr, pair = optimizer.acceptance_test(problem, harmful)
    assert not accepted and difference < -2 * stderr
    # Same z and steady states for both centres (common random numbers).
    assert pair.lambda_max.shape == (2, 3, 60)
    accepted, difference, stderr, _ = optimizer.acceptance_test(problem, good.clone())
    assert accepted and difference == 0.0 and stderr == 0.0
    radius = optimizer.radius
    optimizer.update_radius(False, -1.0, 0.1)
    assert optimizer.radius == max(optimizer.radius_min, 0.5 * radius)
    optimizer.update_radius(True, 1.0, 0.1)
    assert optimizer.radius == min(optimizer.radius_max, 0.75 * radius)


# --- RENAISSANCE baseline --------------------------------------------------------------------


def published_eigenvalue_reward(lambda_max: np.ndarray, n_consider: int = 10) -> float:
    """reward_flag 1 as the published code computes it (sort, first n_consider, exp)."""
    return float(np.exp(-0.1 * np.sort(lambda_max)[:n_consider].sum() / n_consider) / 2)


def always_invalid(problem):
    """The same problem, but every model's lambda_max is inf (invalid): rewards always tie."""

    def infinite(ln_km, idx):
        return torch.full(idx.shape, torch.inf, dtype=torch.float64)

    environments = [
        Environment(env.name, infinite, env.thresholds, env.conditions)
        for env in problem.environments
    ]
    return GeneratorProblem(problem.generator, environments, mode=problem.mode, models_per_member=5)


def hand_result(lambda_max: torch.Tensor) -> EvaluationResult:
    """An evaluation of given lambda_max [pop, E, B] (only lambda_max matters to the rewards)."""
    pop, n_envs, _ = lambda_max.shape
    zeros = torch.zeros(pop, n_envs, dtype=torch.float64)
    return EvaluationResult(zeros, zeros, zeros, zeros, zeros, lambda_max, 0)


def test_renaissance_incidence_reward_and_fallback_by_hand(toy):
    # One environment whose two steady states have thresholds -2.5 and -1.0 1/h.
    environment = Environment("two", toy.kinetics[toy.environment_names[0]], [-2.5, -1.0])
    generator = Generator(toy.lower, toy.upper, latent_dim=3, hidden=(8,), seed=0)
    problem = GeneratorProblem(generator, [environment], mode="per-environment")
    batch = Batch(z=torch.zeros(3, 3), steady_state_idx=[torch.tensor([0, 1, 1])])
    inf = math.inf
    lambda_max = torch.tensor(
        [
            [[0.2, 0.5, inf]],  # nothing valid: margins 2.7, 1.5, inf
            [[-3.0, 0.0, -1.5]],  # margins -0.5, 1.0, -0.5: two of three valid
            [[inf, inf, inf]],  # nothing valid, nothing finite
            [[-2.5, -1.0, -1.0]],  # margins exactly 0: invalid (strict <)
        ],
        dtype=torch.float64,
    )
    optimizer = RenaissanceES(flatten_parameters(generator), reward="incidence")
    rewards = optimizer.reward_columns(problem, hand_result(lambda_max), batch)[:, 0]
    # Fallback 0.01 / (1 + exp(min(lambda - threshold))): the per-model threshold counts
    # (min lambda - threshold of its state = 1.5, not 0.2 + 2.5).
    expected = [0.01 / (1 + math.exp(1.5)), 2 / 3, 0.0, 0.01 / (1 + math.exp(0.0))]
    np.testing.assert_allclose(rewards.numpy(), expected, rtol=1e-15)
    assert math.isclose(
        float(incidence_reward(torch.tensor([3.0, 7.0]) - (-2.5))), 0.01 / (1 + math.exp(5.5))
    )


def test_renaissance_eigenvalue_reward_by_hand():
    values = torch.tensor(
        [3.0, -1.0, -10.0, 0.0, -4.0, -2.0, -9.0, -3.0, -8.0, -5.0, -7.0, -6.0], dtype=torch.float64
    )
    # The 10 smallest are -10..-1: mean -5.5, reward exp(0.55) / 2.
    assert math.isclose(float(eigenvalue_reward(values)), math.exp(0.55) / 2, rel_tol=1e-15)
    assert math.isclose(
        float(eigenvalue_reward(values)), published_eigenvalue_reward(values.numpy())
    )
    # inf (invalid) is left out of the mean; none finite: reward 0; fewer models than 10: all.
    with_inf = torch.tensor([math.inf, -4.0, math.inf, 2.0, -1.0] + [math.inf] * 10)
    assert math.isclose(float(eigenvalue_reward(with_inf)), math.exp(0.1) / 2, rel_tol=1e-15)
    assert float(eigenvalue_reward(torch.full((12,), math.inf))) == 0.0
    assert math.isclose(float(eigenvalue_reward(torch.tensor([-2.0, -4.0]))), math.exp(0.3) / 2)
    assert math.isclose(
        float(eigenvalue_reward(values, n_consider=3)), math.exp(0.9) / 2, rel_tol=1e-15
    )


def test_renaissance_rewards_average_environments_and_keep_published_z_scores():
    rng = np.random.default_rng(0)
    lambda_max = torch.as_tensor(rng.normal(-5.0, 20.0, (6, 2, 30)))  # 6 members, 2 envs
    optimizer = RenaissanceES(torch.zeros(3))
    rewards = optimizer.combine(log_eigenvalue_reward(lambda_max)).numpy()
    published = np.array(
        [[published_eigenvalue_reward(row) for row in member] for member in lambda_max.numpy()]
    ).mean(axis=1)  # per environment, then averaged
    np.testing.assert_allclose(
        (rewards - rewards.mean()) / rewards.std(),
        (published - published.mean()) / published.std(),
        rtol=1e-10,
    )
    # Far below -7100 1/h the published exp overflows to inf (and its step to NaN); here the
    # common scaling keeps the rewards finite with the z-scores of exp(-0.1 m).
    fast = torch.tensor([[-8000.0] * 10, [-8010.0] * 10, [-8030.0] * 10], dtype=torch.float64)
    fast = fast.unsqueeze(1)  # [3 members, 1 environment, 10 models]
    with np.errstate(over="ignore"):
        assert math.isinf(published_eigenvalue_reward(fast[0, 0].numpy()))
    rewards = optimizer.combine(log_eigenvalue_reward(fast))
    exact = np.exp(np.array([0.0, 1.0, 3.0]))  # exp(-0.1 m) relative to the slowest
    np.testing.assert_allclose(
        ((rewards - rewards.mean()) / rewards.std(correction=0)).numpy(),
        (exact - exact.mean()) / exact.std(),
        rtol=1e-12,
    )


def test_renaissance_step_matches_published_formula_by_hand(toy, make_problem):
    problem = make_problem(
        toy, mode="per-environment", models=100, names=[toy.environment_names[0]]
    )
    initial = flatten_parameters(problem.generator)
    optimizer = build_optimizer("renaissance", initial, seed=4)
    assert (optimizer.population_size, optimizer.sigma, optimizer.n_consider) == (20, 0.01, 10)
    assert (optimizer.initial_learning_rate, optimizer.decay) == (1e-3, 0.95)
    assert (optimizer.reward, optimizer.common_batch) == ("renaissance", False)
    weights = initial.numpy().copy()
    for generation in range(3):
        rngs = {name: torch.Generator() for name in ("noise", "batch", "heldout")}
        for name, rng in rngs.items():
            rng.set_state(optimizer.streams[name].get_state())
        eps = torch.randn(20, initial.numel(), generator=rngs["noise"], dtype=torch.float64)
        members = torch.as_tensor(weights) + 0.01 * eps
        # Published: every network is scored on its own fresh models, reward_flag 1.
        rewards = np.array(
            [
                published_eigenvalue_reward(
                    problem.evaluate(member, problem.sample_batch(rngs["batch"]))
                    .lambda_max[0, 0]
                    .numpy()
                )
                for member in members
            ]
        )
        advantages = (rewards - rewards.mean()) / rewards.std()
        lr = 1e-3 * 0.95**generation  # no tie here, so one decay per generation
        expected = weights + lr / (20 * 0.01) * (eps.numpy().T @ advantages)
        info = optimizer.step(problem)
        np.testing.assert_allclose(optimizer.centre().numpy(), expected, rtol=1e-12, atol=1e-15)
        assert math.isclose(info["learning_rate"], lr) and info["accepted"]
        assert info["model_evaluations"] == 20 * 100 + 100  # population + re-scored centre
        assert np.std(rewards) > 0  # the generation carried signal (formula exercised)
        centre = problem.evaluate(torch.as_tensor(expected), problem.sample_batch(rngs["heldout"]))
        expected_reward = published_eigenvalue_reward(centre.lambda_max[0, 0].numpy())
        assert math.isclose(info["centre_reward"], expected_reward, rel_tol=1e-9)
        weights = expected


def test_renaissance_learning_rate_decays_only_after_non_tie_updates(toy, make_problem):
    problem = make_problem(toy, models=10)
    optimizer = RenaissanceES(flatten_parameters(problem.generator), seed=0)
    noise = torch.randn(20, optimizer.weights.numel(), dtype=torch.float64)
    before = optimizer.centre()
    step = optimizer.update(noise, torch.zeros(20, dtype=torch.float64))  # all tied
    assert torch.equal(step, torch.zeros_like(step)) and torch.equal(optimizer.centre(), before)
    assert optimizer.updates == 0 and optimizer.learning_rate == 1e-3
    step = optimizer.update(noise, torch.arange(20, dtype=torch.float64))
    assert float(step.abs().max()) > 0 and optimizer.updates == 1
    assert math.isclose(optimizer.learning_rate, 1e-3 * 0.95)
    optimizer.update(noise, torch.full((20,), 0.3, dtype=torch.float64))  # tied again
    assert optimizer.updates == 1 and math.isclose(optimizer.learning_rate, 1e-3 * 0.95)
    # Whole generations: with every model invalid every reward is 0, so nothing moves.
    for reward in ("renaissance", "incidence"):
        optimizer = RenaissanceES(flatten_parameters(problem.generator), reward=reward)
        hopeless = always_invalid(problem)
        for _ in range(2):
            info = optimizer.step(hopeless)
            assert not info["accepted"] and info["learning_rate"] == 1e-3
            assert info["centre_reward"] == 0.0
        assert optimizer.generation == 2 and optimizer.updates == 0
        assert torch.equal(optimizer.centre(), flatten_parameters(problem.generator))


def test_renaissance_state_round_trip_resumes_identically(toy, tmp_path, make_problem):
    problem = make_problem(toy, models=10)
    initial = flatten_parameters(problem.generator)

    def started():
        optimizer = RenaissanceES(initial, seed=3)
        optimizer.step(always_invalid(problem))  # a tie: generation 1, no decay yet
        optimizer.step(problem)
        return optimizer

    optimizer = started()
    assert (optimizer.generation, optimizer.updates) == (2, 1)
    torch.save(optimizer.state_dict(), tmp_path / "state.pt")
    straight = [optimizer.step(problem) for _ in range(2)]

    resumed = RenaissanceES(initial, seed=99)
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert (resumed.generation, resumed.updates) == (2, 1)
    again = [resumed.step(problem) for _ in range(2)]
    assert torch.equal(resumed.centre(), optimizer.centre())
    assert [row["learning_rate"] for row in again] == [row["learning_rate"] for row in straight]
    assert math.isclose(again[0]["learning_rate"], 1e-3 * 0.95)  # decayed once, not twice
    with pytest.raises(ValueError, match="renaissance-ours"):
        RenaissanceOursES(initial).load_state_dict(optimizer.state_dict())


def test_renaissance_ours_steps_with_rank_utilities_on_common_batch(toy, make_problem):
    problem = make_problem(toy, models=20)
    initial = flatten_parameters(problem.generator)
    optimizer = build_optimizer("renaissance-ours", initial, seed=5)
    assert isinstance(optimizer, RenaissanceOursES) and optimizer.name == "renaissance-ours"
    assert (optimizer.reward, optimizer.common_batch, optimizer.population_size) == (
        "ranks",
        True,
        20,
    )
    noise_rng, batch_rng = torch.Generator(), torch.Generator()
    noise_rng.set_state(optimizer.streams["noise"].get_state())
    batch_rng.set_state(optimizer.streams["batch"].get_state())
    eps = torch.randn(20, initial.numel(), generator=noise_rng, dtype=torch.float64)
    fitness = problem.evaluate(initial + 0.01 * eps, problem.sample_batch(batch_rng)).fitness
    utilities = combined_utilities(fitness)  # TR-NES's reward: ranks per environment, averaged
    assert float(utilities.std()) > 0
    expected = initial + 1e-3 / (20 * 0.01) * (
        eps.T @ ((utilities - utilities.mean()) / utilities.std(correction=0))
    )
    info = optimizer.step(problem)
    torch.testing.assert_close(optimizer.centre(), expected, rtol=1e-12, atol=1e-15)
    assert info["accepted"] and "centre_reward" not in info
    assert info["model_evaluations"] == 20 * 20 * 3 + 20 * 3
    with pytest.raises(ValueError, match="training.renaissance-ours"):
        build_optimizer("renaissance-ours", initial, 0, {"reward": "incidence"})
    with pytest.raises(ValueError, match="training.renaissance.reward"):
        build_optimizer("renaissance", initial, 0, {"reward": "best"})


# --- sep-CMA ---------------------------------------------------------------------------------


def test_sep_cma_is_diagonal_seeded_and_leaves_global_numpy_alone(toy, make_problem):
    problem = make_problem(toy, models=10)
    initial = flatten_parameters(problem.generator)
    np.random.seed(123)
    outside = np.random.get_state()[1].copy()
    runs = []
    for _ in range(2):
        optimizer = SepCMA(initial, seed=5, population_size=8, sigma0=0.05)
        assert optimizer.es.opts["CMA_diagonal"] is True
        infos = [optimizer.step(problem) for _ in range(3)]
        runs.append(optimizer.centre())
        assert all(info["model_evaluations"] == 8 * 10 * 3 + 10 * 3 for info in infos)
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], initial)
    np.testing.assert_array_equal(np.random.get_state()[1], outside)
    other = SepCMA(initial, seed=6, population_size=8)
    for _ in range(3):
        other.step(problem)
    assert not torch.equal(other.centre(), runs[0])


def test_environment_subset_positions_and_non_finite_values(toy):
    kinetics = toy.kinetics["toy_glucose"]

    def nan_at_state_3(ln_km, positions):
        values = kinetics(ln_km, positions)
        return torch.where(positions == 3, torch.nan, values)

    kept = torch.tensor([1, 3])  # e.g. the steady states an attainability screen keeps
    environment = Environment(
        "toy_glucose", nan_at_state_3, toy.thresholds["toy_glucose"][kept], positions=kept
    )
    generator = Generator(toy.lower, toy.upper, latent_dim=3, hidden=(8,), seed=0)
    problem = GeneratorProblem(generator, [environment], mode="per-environment")
    batch = problem.sample_batch(torch.Generator().manual_seed(0), 40)
    assert set(batch.steady_state_idx[0].tolist()) == {0, 1}
    result = problem.evaluate(flatten_parameters(generator), batch)
    local = batch.steady_state_idx[0]
    with torch.no_grad():
        expected = kinetics(generator(batch.z), kept[local])
    at_state_3 = kept[local] == 3
    assert torch.all(torch.isinf(result.lambda_max[0, 0][at_state_3]))
    torch.testing.assert_close(result.lambda_max[0, 0][~at_state_3], expected[~at_state_3])
    threshold = toy.thresholds["toy_glucose"][1]
    expected_valid = int((expected[~at_state_3] < threshold).sum()) / 40
    assert math.isclose(float(result.incidence[0, 0]), float(expected_valid))
    with pytest.raises(ValueError, match="positions"):
        Environment("x", kinetics, torch.zeros(3), positions=torch.arange(2))
