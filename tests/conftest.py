"""Shared fixtures and builders: the default config, e_coli_core, its reaction energies, the
evolution-strategy toy and problems on it, and kinetic models on synthetic steady states."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import cobra
import pandas as pd
import pytest
import torch
import yaml

from kinetigen.es.toy import make_toy_setup, toy_problem
from kinetigen.kinetics import KineticModel, build_kinetic_model
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
    (model, samples); ``options`` go to :func:`synthetic_steady_states`."""

    def build(
        n_samples: int, seed: int, env: str = "glucose_aerobic", **options
    ) -> tuple[KineticModel, pd.DataFrame]:
        environment = _default_config["environments"][env]
        samples = synthetic_steady_states(
            _textbook, env, environment, _default_config, n_samples, seed=seed, **options
        )
        return build_kinetic_model(_textbook, samples, _default_config, env), samples

    return build
