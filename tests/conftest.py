"""Shared fixtures and builders: the default config, e_coli_core, its reaction energies, the
evolution-strategy toy and problems on it, and kinetic models on synthetic steady states."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import cobra
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from kinetigen.es.toy import make_toy_setup, toy_problem
from kinetigen.kinetics import BatchedJacobian, KineticModel, build_kinetic_model
from kinetigen.kinetics.synthetic import synthetic_steady_states
from kinetigen.network import load_network
from kinetigen.thermo import ReactionEnergies, reaction_energies

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def _default_config() -> dict:
    with open(REPO / "config.yaml") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def default_config(_default_config: dict) -> dict:
    """The repository's config.yaml, parsed (a fresh deep copy per test: edit it freely)."""
    return copy.deepcopy(_default_config)


@pytest.fixture(scope="session")
def _textbook() -> cobra.Model:
    return load_network("textbook", solver="hybrid")


@pytest.fixture
def textbook_model(_textbook: cobra.Model) -> cobra.Model:
    """e_coli_core with the HiGHS solver; a fresh copy per test."""
    return _textbook.copy()


@pytest.fixture(scope="session")
def textbook_energies(_textbook: cobra.Model, _default_config: dict) -> ReactionEnergies:
    """dG'0 of e_coli_core under the default physiology (real eQuilibrator estimates)."""
    return reaction_energies(
        _textbook,
        _default_config["physiology"],
        _default_config["thermo"],
        _default_config["biomass_reaction"],
    )


@pytest.fixture(autouse=True, scope="session")
def single_thread():
    """Tiny tensors on a shared 2-core machine: extra torch threads only add contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def toy():
    """The evolution-strategy toy problem (kinetigen.es.toy)."""
    return make_toy_setup(n_species=4, steady_states_per_environment=5, seed=3)


@pytest.fixture(scope="session")
def make_toy_problem():
    """Builder of a :class:`GeneratorProblem` on a toy setup (kinetigen.es.toy.toy_problem):
    ``make_toy_problem(setup, names=..., mode=..., models_per_member=..., ...)`` returns the
    problem and the conditions of every toy environment (None when unconditional)."""
    return toy_problem


@pytest.fixture(scope="session")
def synthetic_kinetics(
    _textbook: cobra.Model, _default_config: dict
) -> Callable[..., tuple[KineticModel, pd.DataFrame]]:
    """Builder of e_coli_core's kinetic model of one default environment on synthetic steady
    states: ``synthetic_kinetics(n_samples, seed, env="glucose_aerobic", **options)`` returns
    (model, samples); ``options`` go to :func:`synthetic_steady_states`, ``biomass_law``
    (when given) to ``kinetics.biomass_law``."""

    def build(
        n_samples: int,
        seed: int,
        env: str = "glucose_aerobic",
        biomass_law: str | None = None,
        **options,
    ) -> tuple[KineticModel, pd.DataFrame]:
        environment = _default_config["environments"][env]
        samples = synthetic_steady_states(
            _textbook, env, environment, _default_config, n_samples, seed=seed, **options
        )
        config = _default_config
        if biomass_law is not None:
            config = copy.deepcopy(_default_config)
            config.setdefault("kinetics", {})["biomass_law"] = biomass_law
        return build_kinetic_model(_textbook, samples, config, env), samples

    return build


def stable_draws(
    model: KineticModel, n_draws: int, n_keep: int, seed: int, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_keep`` of ``n_draws`` ORACLE draws (saturations uniform on [low, high],
    steady states in turn) with lambda_max below the validity threshold: (positions, ln Km).
    Imported by the tests (``from conftest import stable_draws``)."""
    rng = np.random.default_rng(seed)
    positions = np.arange(n_draws) % model.n_steady_states
    saturation = rng.uniform(low, high, size=(n_draws, len(model.parameters)))
    ln_km = model.ln_km_from_saturation(saturation, positions)
    lambda_max = BatchedJacobian(model).lambda_max(ln_km, positions).numpy()
    valid = np.flatnonzero(lambda_max < model.threshold[positions])[:n_keep]
    return positions[valid], ln_km[valid]


def assert_full_jacobian(system) -> None:
    """A BioreactorModel's analytic Jacobian matches central differences of its rhs, row by
    row in d f_i / d ln y_k, at a state away from the steady state with grown biomass.
    Imported by the tests (``from conftest import assert_full_jacobian``)."""
    rng = np.random.default_rng(1)
    # Away from the steady state, with grown biomass, so that every block is nonzero.
    y = system.y0 * rng.uniform(0.5, 1.5, size=system.size)
    y[-1] = 0.8
    analytic = system.jac(0.0, y)
    numeric = np.empty_like(analytic)
    for k in range(system.size):
        step = 1e-6 * y[k]
        up, down = y.copy(), y.copy()
        up[k] += step
        down[k] -= step
        numeric[:, k] = (system.rhs(0.0, up) - system.rhs(0.0, down)) / (2 * step)
    # Compare d f_i / d ln y_k row by row (the rows have different units).
    analytic_scaled, numeric_scaled = analytic * y, numeric * y
    row_scale = np.abs(analytic_scaled).max(axis=1, keepdims=True)
    assert np.all(row_scale[-1] > 0) and np.all(row_scale[system.n_states :] > 0)
    assert np.abs(analytic_scaled - numeric_scaled).max() > 0  # not a trivial comparison
    relative = np.abs(analytic_scaled - numeric_scaled) / row_scale
    assert relative.max() < 1e-6, np.unravel_index(relative.argmax(), relative.shape)
