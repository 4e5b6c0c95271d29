"""Generator: bounds, population evaluation, flat weights, condition encoder, generator.pt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from kinetigen.generator import (
    ConditionEncoder,
    Generator,
    flatten_parameters,
    forward_population,
    load_flat_parameters,
    load_generator,
    save_generator,
    unflatten_parameters,
)

LOWER = torch.tensor([-14.0, -10.0, -5.0, -20.0, -3.0], dtype=torch.float64)
UPPER = torch.tensor([0.0, -2.0, 1.0, -19.5, 3.0], dtype=torch.float64)


def make_generator(conditioning: str = "concat", condition_dim: int = 3, seed: int = 0):
    return Generator(
        LOWER,
        UPPER,
        latent_dim=4,
        condition_dim=condition_dim,
        hidden=(8, 6),
        conditioning=conditioning,
        seed=seed,
    )


def batch(n: int = 32, latent: int = 4, cond: int = 3, seed: int = 1):
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latent, generator=rng, dtype=torch.float64)
    c = torch.randn(n, cond, generator=rng, dtype=torch.float64) if cond else None
    return z, c


@pytest.mark.parametrize("conditioning", ["concat", "film"])
@pytest.mark.parametrize("weight_scale", [1.0, 1e3, 1e8, 1e150])
def test_outputs_stay_within_bounds_even_for_extreme_weights(conditioning, weight_scale):
    generator = make_generator(conditioning)
    rng = torch.Generator().manual_seed(3)
    weights = weight_scale * torch.randn(generator.n_weights, generator=rng, dtype=torch.float64)
    load_flat_parameters(generator, weights)
    z, c = batch()
    z = z * 1e3  # far-out latent draws too
    with torch.no_grad():
        out = generator(z, c)
    assert out.shape == (32, 5)
    assert torch.isfinite(out).all()
    assert (out >= LOWER).all() and (out <= UPPER).all()
    if weight_scale >= 1e8:
        # Saturated tanh: values sit on the bounds, exactly.
        on_bound = (out == LOWER) | (out == UPPER)
        assert on_bound.float().mean() > 0.9


def test_no_batch_wide_rescaling():
    generator = make_generator()
    z, c = batch()
    with torch.no_grad():
        full = generator(z, c)
        alone = torch.cat([generator(z[i : i + 1], c[i : i + 1]) for i in range(len(z))])
    torch.testing.assert_close(full, alone, rtol=0, atol=1e-14)
    # RENAISSANCE-style min-max rescaling would put every batch on both bounds; this does not.
    assert not ((full.min(0).values == LOWER) & (full.max(0).values == UPPER)).any()


@pytest.mark.parametrize("conditioning", ["concat", "film"])
def test_forward_population_equals_loop_over_members(conditioning):
    generator = make_generator(conditioning)
    rng = torch.Generator().manual_seed(5)
    centre = flatten_parameters(generator)
    population = centre + 0.3 * torch.randn(7, centre.numel(), generator=rng, dtype=torch.float64)
    z, c = batch(16)
    together = forward_population(generator, population, z, c)
    assert together.shape == (7, 16, 5)
    looped = []
    for member in population:
        load_flat_parameters(generator, member)
        with torch.no_grad():
            looped.append(generator(z, c))
    torch.testing.assert_close(together, torch.stack(looped), rtol=1e-13, atol=1e-13)


def test_forward_population_unconditional():
    generator = make_generator(condition_dim=0)
    weights = flatten_parameters(generator).repeat(3, 1)
    weights[1] += 0.1
    z, _ = batch(10, cond=0)
    out = forward_population(generator, weights, z)
    with torch.no_grad():
        reference = generator(z)
    torch.testing.assert_close(out[0], reference, rtol=0, atol=1e-14)
    torch.testing.assert_close(out[2], reference, rtol=0, atol=1e-14)
    assert not torch.allclose(out[1], reference)


def test_flat_weight_helpers_round_trip():
    generator = make_generator("film")
    flat = flatten_parameters(generator)
    assert flat.shape == (generator.n_weights,)
    expected = sum(p.numel() for p in generator.parameters())
    assert generator.n_weights == expected
    params = unflatten_parameters(generator, torch.stack([flat, 2 * flat]))
    for name, param in generator.named_parameters():
        assert params[name].shape == (2, *param.shape)
        torch.testing.assert_close(params[name][1], 2 * param.detach())
    other = make_generator("film", seed=9)
    assert not torch.equal(flatten_parameters(other), flat)
    load_flat_parameters(other, flat)
    assert torch.equal(flatten_parameters(other), flat)
    with pytest.raises(ValueError, match="length"):
        unflatten_parameters(generator, flat[:-1])


def test_seeded_initialisation_and_film_starts_neutral():
    a, b = make_generator("film", seed=4), make_generator("film", seed=4)
    assert torch.equal(flatten_parameters(a), flatten_parameters(b))
    z, c = batch()
    with torch.no_grad():
        # FiLM layers start at zero: the condition has no effect until training moves them.
        torch.testing.assert_close(a(z, c), a(z, torch.zeros_like(c)), rtol=0, atol=0)
        concat = make_generator("concat")
        assert not torch.allclose(concat(z, c), concat(z, torch.zeros_like(c)))
        load_flat_parameters(a, flatten_parameters(a) + 0.2)
        assert not torch.allclose(a(z, c), a(z, torch.zeros_like(c)))


def test_bad_generator_input_is_named():
    with pytest.raises(ValueError, match=r"lower > upper .* index\(es\) \[1\]"):
        Generator(torch.tensor([0.0, 1.5]), torch.tensor([1.0, 1.0]))
    # Equal bounds (a measured Km) are allowed: that output is the constant.
    fixed = Generator(torch.tensor([0.0, -3.0]), torch.tensor([1.0, -3.0]), latent_dim=4)
    assert torch.equal(fixed.sample(20)[:, 1], torch.full((20,), -3.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="generator.conditioning"):
        Generator(LOWER, UPPER, conditioning="sum")
    with pytest.raises(ValueError, match="generator.activation"):
        Generator(LOWER, UPPER, activation="swish2")
    generator = make_generator()
    with pytest.raises(ValueError, match="condition"):
        generator(torch.zeros(2, 4, dtype=torch.float64))


def steady_state_table(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    data = {
        "environment": ["x"] * n,
        "flux:A": 3.0 * latent[:, 0] + shift,
        "flux:B": latent[:, 0] - latent[:, 1],
        "lnc:a": -6.0 + 0.5 * latent[:, 1] + 0.01 * rng.normal(size=n),
        "lnc:b": np.full(n, -4.0),  # constant in training
        "dg:A": rng.normal(size=n),  # not a chosen prefix
    }
    return pd.DataFrame(data)


def test_condition_encoder_matches_independent_pca():
    table = steady_state_table(40, 0.0, seed=1)
    encoder = ConditionEncoder(2).fit(table)
    assert encoder.columns == ["flux:A", "flux:B", "lnc:a", "lnc:b"]
    encoded = encoder.transform(table)
    # Reference: eigen-decomposition of the sample correlation matrix (no SVD), constant
    # column dropped (it carries no information).
    values = table[["flux:A", "flux:B", "lnc:a"]].to_numpy()
    standardised = (values - values.mean(0)) / values.std(0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(standardised.T))
    order = np.argsort(eigenvalues)[::-1][:2]
    reference = standardised @ eigenvectors[:, order] / np.sqrt(eigenvalues[order])
    for k in range(2):
        correlation = np.corrcoef(encoded[:, k], reference[:, k])[0, 1]
        assert abs(correlation) > 1 - 1e-10
        np.testing.assert_allclose(np.abs(encoded[:, k]), np.abs(reference[:, k]), atol=1e-8)
    # Whitened: zero mean, identity covariance over the training samples.
    np.testing.assert_allclose(encoded.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.cov(encoded.T), np.eye(2), atol=1e-10)


def test_condition_encoder_fills_missing_columns_with_training_mean():
    training = steady_state_table(30, 0.0, seed=2)
    encoder = ConditionEncoder(2).fit(training)
    new = steady_state_table(5, 4.0, seed=3)
    without_b = new.drop(columns=["flux:B"])
    with_mean = new.copy()
    with_mean["flux:B"] = training["flux:B"].mean()
    np.testing.assert_allclose(encoder.transform(without_b), encoder.transform(with_mean))
    with_nan = new.copy()
    with_nan.loc[0, "lnc:a"] = np.nan
    filled = new.copy()
    filled.loc[0, "lnc:a"] = training["lnc:a"].mean()
    np.testing.assert_allclose(encoder.transform(with_nan), encoder.transform(filled))
    # A shifted environment encodes differently (the condition carries information).
    assert not np.allclose(encoder.transform(new).mean(0), 0.0, atol=0.5)


def test_condition_encoder_state_round_trip(tmp_path):
    training = steady_state_table(20, 0.0, seed=4)
    encoder = ConditionEncoder(3, whiten=False).fit(training)
    torch.save(encoder.state_dict(), tmp_path / "encoder.pt")
    restored = ConditionEncoder.from_state_dict(
        torch.load(tmp_path / "encoder.pt", weights_only=True)
    )
    new = steady_state_table(6, 1.0, seed=5)
    np.testing.assert_array_equal(restored.transform(new), encoder.transform(new))
    with pytest.raises(ValueError, match="generator.condition_dim"):
        ConditionEncoder(5).fit(training)
    with pytest.raises(ValueError, match="no columns"):
        ConditionEncoder(1).fit(training[["environment", "dg:A"]])


def test_generator_file_round_trip(tmp_path):
    training = steady_state_table(20, 0.0, seed=6)
    encoder = ConditionEncoder(3).fit(training)
    generator = make_generator("film")
    weights = flatten_parameters(generator) + 0.05
    save_generator(
        tmp_path / "generator.pt", generator, weights, encoder, {"method": "trnes", "seed": 1}
    )
    restored, restored_encoder, metadata = load_generator(tmp_path / "generator.pt")
    assert metadata == {"method": "trnes", "seed": 1}
    assert torch.equal(flatten_parameters(restored), weights)
    z, _ = batch(8)
    c = restored_encoder.transform_tensor(training.iloc[:8])
    with torch.no_grad():
        torch.testing.assert_close(restored(z, c), generator(z, c), rtol=0, atol=0)
