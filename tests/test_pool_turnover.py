"""The slow-pool screen (kinetigen.kinetics.turnover): the capacity bounds every Jacobian
diagonal over random Km sets (elasticities from the batched Jacobian, not from the bound's
formula), moiety members are not screened, and the screen drops exactly the steady states
below the factor, with an error naming the key when none is left."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from kinetigen.kinetics import BatchedJacobian, build_kinetic_model
from kinetigen.kinetics.synthetic import synthetic_steady_states
from kinetigen.kinetics.turnover import (
    free_pools,
    pool_capacity,
    pool_turnover_table,
    screen_steady_states,
)

ENV = "glucose_aerobic"


@pytest.fixture(scope="module")
def samples(_textbook, _default_config):
    environment = _default_config["environments"][ENV]
    return synthetic_steady_states(_textbook, ENV, environment, _default_config, 6, seed=17)


@pytest.fixture(scope="module", params=["lumped", "per_substrate"])
def model(request, _textbook, _default_config, samples):
    config = copy.deepcopy(_default_config)
    config.setdefault("kinetics", {})["biomass_law"] = request.param
    return build_kinetic_model(_textbook, samples, config, ENV)


def test_capacity_bounds_every_jacobian_diagonal(model):
    rng = np.random.default_rng(3)
    n_draws = 400
    # Saturations from nearly empty to nearly full: the bound must hold at the extremes.
    saturation = rng.uniform(1e-4, 1 - 1e-4, size=(n_draws, len(model.parameters)))
    positions = rng.integers(0, model.n_steady_states, size=n_draws)
    ln_km = model.ln_km_from_saturation(saturation, positions)
    elasticity, finite = BatchedJacobian(model).elasticities(ln_km, positions)
    assert bool(finite.all())
    elasticity = elasticity.numpy()  # [B, reactions, states], d ln v / d ln x
    flux = model.flux[positions]
    x = np.exp(model.ln_concentration[positions][:, : len(model.states)])
    # Full-state diagonal: d(dx_i/dt)/dx_i = sum_j N_ij v_j E_ji / x_i.
    diagonal = np.einsum("ij,bj,bji->bi", model.stoichiometry, flux, elasticity) / x
    capacity = pool_capacity(model)[positions]
    assert np.all(np.abs(diagonal) <= capacity * (1 + 1e-9) + 1e-12)
    # Not a loose bound: some draw comes within a factor 3 of it for most pools.
    tightness = np.max(np.abs(diagonal) / capacity, axis=0)
    assert np.median(tightness) > 1 / 3


def test_moiety_members_are_not_screened(model):
    free = dict(zip(model.states, free_pools(model), strict=True))
    for member in ("atp_c", "adp_c", "nad_c", "nadh_c"):
        assert member in free and not free[member]
    assert any(free.values())


def test_screen_drops_exactly_the_steady_states_below_the_factor(model, samples):
    table = pool_turnover_table(model, None)
    assert list(table.index) == list(samples.index) and table["kept"].all()
    free = {s for s, f in zip(model.states, free_pools(model), strict=True) if f}
    assert set(table["slowest_pool"]) <= free
    np.testing.assert_allclose(
        table["ratio"], table["capacity_per_h"] / np.abs(table["threshold_per_h"])
    )
    factor = float(np.median(table["ratio"]))
    kept, screened = screen_steady_states(samples, model, factor)
    expected = table.index[table["ratio"] >= factor]
    assert 0 < len(expected) < len(table)
    assert list(kept.index) == list(expected)
    assert list(screened.index[screened["kept"]]) == list(expected)
    unchanged, _ = screen_steady_states(samples, model, None)
    assert unchanged.equals(samples)


def test_screen_with_nothing_left_names_the_key_and_the_pool(model, samples):
    table = pool_turnover_table(model, None)
    with pytest.raises(ValueError, match="kinetics.pool_turnover.min_factor") as error:
        screen_steady_states(samples, model, 2 * float(table["ratio"].max()))
    assert table["slowest_pool"].iloc[0] in str(error.value)
