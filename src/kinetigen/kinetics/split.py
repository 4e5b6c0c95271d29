"""Which sampled steady states train the generator and which evaluate it (out of sample).

Steady states come from one OptGP chain per environment, so neighbours in the table are
correlated (lag-1 autocorrelation about 0.8, effective sample size about 70-90 of 1000 on
e_coli_core). The ``n_evaluation`` evaluation steady states sit evenly along the whole chain,
each in the middle of its own stretch; the ``n_train`` training steady states are spread evenly
over the positions at least ``gap`` samples away from every evaluation one (0.8^15 = 0.035: at
15 samples the chain has forgotten). So both sets cover the chain, no evaluation steady state
is a near-copy of a training one, and the generator can train on many steady states (training
cost does not grow with their number; only the attainability screen does). Attainability
screens and training use the training positions only; evaluation, ORACLE, the perturbation
tests and the bioreactor use the evaluation positions only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


class SplitError(ValueError):
    """The environment has too few steady states for the configured split."""


@dataclass(frozen=True)
class SteadyStateSplit:
    """Positions (rows of steady_states.parquet) of the two disjoint sets."""

    train: np.ndarray
    evaluation: np.ndarray


def split_steady_states(
    n_steady_states: int, n_train: int, n_evaluation: int, gap: int = 0, environment: str = "?"
) -> SteadyStateSplit:
    """Disjoint training and evaluation positions, at least ``gap`` apart (deterministic).

    Raises :class:`SplitError` naming the environment and the config keys when the table has
    too few steady states for the split.
    """
    if n_train < 1 or n_evaluation < 1 or gap < 0:
        raise SplitError(
            "config keys kinetics.split.n_train and n_evaluation must be >= 1, gap >= 0"
        )
    evaluation = ((np.arange(n_evaluation) + 0.5) * n_steady_states / n_evaluation).astype(int)
    everything = np.arange(n_steady_states)
    distance = np.abs(everything[:, None] - evaluation[None, :]).min(axis=1)
    allowed = everything[distance >= max(gap, 1)]
    if len(np.unique(evaluation)) < n_evaluation or len(allowed) < n_train:
        raise SplitError(
            f"environment {environment!r}: {n_steady_states} steady states are too few for "
            f"kinetics.split (n_train {n_train}, n_evaluation {n_evaluation}, gap {gap}): "
            f"{len(allowed)} positions lie at least {max(gap, 1)} from every evaluation one; "
            "sample more (sampling.n_samples) or split fewer"
        )
    train = allowed[np.linspace(0, len(allowed) - 1, n_train).round().astype(int)]
    return SteadyStateSplit(train=train, evaluation=evaluation)


def attainable_positions(attainability: pd.DataFrame) -> list[int]:
    """The training positions that the attainability screen kept (its table's
    ``attainable`` rows, ``results/envs/{env}/attainability.csv``), ascending: what training
    uses, and what in-sample evaluation reports."""
    return sorted(int(p) for p in attainability.loc[attainability["attainable"], "steady_state"])
