"""A toy stand-in for the kinetic models, with the same shapes as the real problem.

Each environment has a few steady states; a steady state s has concentrations x_s (mol/L),
turnover rates k_s = v_s / x_s (1/h) and a coupling matrix A_s (a stable matrix, -1 on the
diagonal plus random off-diagonal coupling). For a parameter set ln Km the Jacobian is

    J_s(Km) = A_s diag(w),   w_i = k_si * 4 sigma_i (1 - sigma_i),   sigma_i = x_si / (x_si + Km_i)

which mimics the real reduced Jacobian N diag(v) E diag(1/x): the sensitivity 4 sigma (1 - sigma)
peaks at Km = x, so a model is fast (lambda_max below the threshold) only when each Km sits in a
band around the steady-state concentration; random coupling can also make unbalanced w unstable.
Turnover rates are scaled so that Km = x reaches ``headroom`` times the threshold, so every
steady state is attainable (the real workflow's attainability screen does the same job).
Environments differ in their concentration levels, so a generator must adapt its Km to the
condition vector, and one Km set rarely suits all environments at once (the ``shared`` mode is
harder, as with real media). Thresholds follow the workflow's rule lambda_thr = -3 mu / ln 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kinetigen.columns import FLUX, LNC, column
from kinetigen.es.problem import Environment, GeneratorProblem
from kinetigen.generator import ConditionEncoder, Generator

DEFAULT_TOY_ENVIRONMENTS = ("toy_glucose", "toy_acetate", "toy_succinate", "toy_pyruvate")


@dataclass
class ToyKinetics:
    """Batched lambda_max evaluator of one toy environment (all tensors float64)."""

    ln_x: Tensor  # [S, n] ln concentration, ln mol/L
    turnover: Tensor  # [S, n] 1/h
    coupling: Tensor  # [S, n, n]

    def __call__(self, ln_km: Tensor, steady_state_idx: Tensor) -> Tensor:
        """lambda_max [N] (1/h) for ln Km [N, n] at steady states ``steady_state_idx`` [N]."""
        if ln_km.shape[-1] != self.ln_x.shape[1]:
            raise ValueError(f"toy kinetics expects {self.ln_x.shape[1]} ln Km, got {ln_km.shape}")
        saturation = torch.sigmoid(self.ln_x[steady_state_idx] - ln_km)
        rates = self.turnover[steady_state_idx] * 4.0 * saturation * (1.0 - saturation)
        jacobian = self.coupling[steady_state_idx] * rates[:, None, :]
        return torch.linalg.eigvals(jacobian).real.amax(dim=-1)


@dataclass
class ToySetup:
    """Everything a toy training run needs."""

    steady_states: pd.DataFrame  # columns: environment, sample, flux:r<i>, lnc:m<i>
    kinetics: dict[str, ToyKinetics]
    thresholds: dict[str, Tensor]
    lower: Tensor  # [P] ln Km bounds
    upper: Tensor

    @property
    def environment_names(self) -> list[str]:
        return list(self.kinetics)

    def environments(
        self, names: Sequence[str] | None = None, conditions: dict[str, Tensor] | None = None
    ) -> list[Environment]:
        """:class:`Environment` objects (with ``conditions[name]`` if given)."""
        names = self.environment_names if names is None else list(names)
        return [
            Environment(
                name=name,
                lambda_max=self.kinetics[name],
                thresholds=self.thresholds[name],
                conditions=None if conditions is None else conditions[name],
            )
            for name in names
        ]

    def table(self, name: str) -> pd.DataFrame:
        """Steady-state rows of one environment."""
        return self.steady_states[self.steady_states["environment"] == name].reset_index(drop=True)


def make_toy_setup(
    n_species: int = 6,
    environment_names: Sequence[str] = DEFAULT_TOY_ENVIRONMENTS,
    steady_states_per_environment: int = 6,
    seed: int = 0,
    level_spread: float = 1.5,
    sample_spread: float = 0.4,
    coupling_strength: float = 0.8,
    headroom: float = 2.0,
    ln_km_bounds: tuple[float, float] = (-14.0, 0.0),
) -> ToySetup:
    """Build a reproducible toy with several environments.

    ``level_spread`` (ln units) sets how far environments' concentration levels lie apart;
    ``sample_spread`` the spread of steady states within one environment. Turnover rates are
    scaled per steady state so that lambda_max at Km = x equals ``headroom`` times the threshold:
    every steady state is attainable, and a smaller headroom (> 1) narrows the valid band
    around Km = x and makes the problem harder.
    """
    if n_species < 2:
        raise ValueError(f"toy needs n_species >= 2, got {n_species}")
    if headroom <= 1.0:
        raise ValueError(f"toy headroom must be > 1 for attainable steady states, got {headroom}")
    rng = np.random.default_rng(seed)
    base_ln_x = rng.uniform(-9.0, -5.0, n_species)
    coupling_base = rng.normal(0.0, coupling_strength / math.sqrt(n_species), (n_species,) * 2)
    np.fill_diagonal(coupling_base, 0.0)
    diagonal = np.arange(n_species)
    rows = []
    kinetics: dict[str, ToyKinetics] = {}
    thresholds: dict[str, Tensor] = {}
    for name in environment_names:
        growth_rate = rng.uniform(0.2, 0.8)  # 1/h
        threshold = -3.0 * growth_rate / math.log(2.0)
        level = base_ln_x + rng.normal(0.0, level_spread, n_species)
        n_samples = steady_states_per_environment
        ln_x = level + rng.normal(0.0, sample_spread, (n_samples, n_species))
        turnover = np.exp(rng.normal(0.0, 0.3, (n_samples, n_species)))
        coupling = np.empty((n_samples, n_species, n_species))
        for sample in range(n_samples):
            # At Km = x every sensitivity is 1, so J = A diag(turnover); redraw A until stable.
            for _ in range(1000):
                candidate = coupling_base + rng.normal(0.0, 0.1, (n_species, n_species))
                candidate[diagonal, diagonal] = -1.0
                peak = np.linalg.eigvals(candidate * turnover[sample]).real.max()
                if peak < 0:
                    break
            else:
                raise ValueError("toy: coupling_strength too large, no stable coupling found")
            coupling[sample] = candidate
            turnover[sample] *= headroom * threshold / peak
        kinetics[name] = ToyKinetics(
            ln_x=torch.as_tensor(ln_x),
            turnover=torch.as_tensor(turnover),
            coupling=torch.as_tensor(coupling),
        )
        thresholds[name] = torch.full((n_samples,), threshold, dtype=torch.float64)
        for sample in range(n_samples):
            row: dict[str, object] = {"environment": name, "sample": sample}
            for i in range(n_species):
                flux = turnover[sample, i] * math.exp(ln_x[sample, i]) * 1e3
                row[column(FLUX, f"r{i}")] = float(flux)
                row[column(LNC, f"m{i}")] = float(ln_x[sample, i])
            rows.append(row)
    lower = torch.full((n_species,), float(ln_km_bounds[0]), dtype=torch.float64)
    upper = torch.full((n_species,), float(ln_km_bounds[1]), dtype=torch.float64)
    return ToySetup(pd.DataFrame(rows), kinetics, thresholds, lower, upper)


def toy_problem(
    setup: ToySetup,
    names: Sequence[str] | None = None,
    mode: str = "conditional",
    condition_dim: int = 2,
    models_per_member: int = 30,
    hidden: Sequence[int] = (16,),
    latent_dim: int = 3,
    seed: int = 0,
    fit_on: Sequence[str] | None = None,
    **problem_options: Any,
) -> tuple[GeneratorProblem, dict[str, Tensor] | None]:
    """A :class:`GeneratorProblem` on the toy environments ``names`` (default: the first
    three; per-environment mode keeps the first only) with a fresh generator (``seed``).

    In conditional mode a :class:`ConditionEncoder` of ``condition_dim`` is fitted on the
    steady states of ``fit_on`` (default ``names``: the training environments) and every
    environment's conditions are returned with the problem (None in the other modes).
    ``problem_options`` go to :class:`GeneratorProblem` (reward options).
    """
    names = list(setup.environment_names[:3] if names is None else names)
    if mode == "per-environment":
        names = names[:1]
    dim = condition_dim if mode == "conditional" else 0
    conditions = None
    if dim:
        fitted = setup.steady_states["environment"].isin(list(names if fit_on is None else fit_on))
        encoder = ConditionEncoder(dim).fit(setup.steady_states[fitted])
        conditions = {
            name: encoder.transform_tensor(setup.table(name)) for name in setup.environment_names
        }
    generator = Generator(
        setup.lower,
        setup.upper,
        latent_dim=latent_dim,
        condition_dim=dim,
        hidden=tuple(hidden),
        seed=seed,
    )
    problem = GeneratorProblem(
        generator,
        setup.environments(names, conditions),
        mode=mode,
        models_per_member=models_per_member,
        **problem_options,
    )
    return problem, conditions
