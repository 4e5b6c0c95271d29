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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


class SplitError(ValueError):
    """The environment has too few steady states for the configured split."""


@dataclass(frozen=True)
class SteadyStateSplit:
    """Positions (rows of steady_states.parquet) of the two disjoint sets."""

    train: np.ndarray
    evaluation: np.ndarray


def chain_positions(sample_ids: Sequence[Any]) -> np.ndarray | None:
    """The sample ids as chain positions when they are ascending integers (the sampler's row
    numbers, kept by the slow-pool screen), else None (rows are consecutive)."""
    ids = list(sample_ids)
    if not ids or not all(isinstance(i, (int, np.integer)) for i in ids):
        return None
    position = np.asarray(ids, dtype=int)
    return position if np.all(np.diff(position) > 0) else None


def split_steady_states(
    n_steady_states: int,
    n_train: int,
    n_evaluation: int,
    gap: int = 0,
    environment: str = "?",
    chain: Sequence[int] | None = None,
) -> SteadyStateSplit:
    """Disjoint training and evaluation positions, at least ``gap`` apart (deterministic).

    ``chain``: each row's position along the sampling chain, ascending (the sample ids of
    a table the slow-pool screen thinned, :mod:`kinetigen.kinetics.turnover`); distances
    are measured along it and the evaluation rows are the first at or after evenly spaced
    chain positions (the next row where two would be the same). None: rows 0..n-1 are
    consecutive chain positions.

    Raises :class:`SplitError` naming the environment and the config keys when the table has
    too few steady states for the split.
    """
    if n_train < 1 or n_evaluation < 1 or gap < 0:
        raise SplitError(
            "config keys kinetics.split.n_train and n_evaluation must be >= 1, gap >= 0"
        )
    position = np.arange(n_steady_states) if chain is None else np.asarray(chain, dtype=int)
    if len(position) != n_steady_states or np.any(np.diff(position) <= 0):
        raise SplitError(f"environment {environment!r}: chain positions must ascend, one per row")
    length = int(position[-1]) + 1 if n_steady_states else 0
    targets = ((np.arange(n_evaluation) + 0.5) * length / n_evaluation).astype(int)
    evaluation = np.searchsorted(position, targets)
    # A thinned chain can leave two targets the same first row: take the next one.
    for k in range(1, n_evaluation):
        evaluation[k] = max(evaluation[k], evaluation[k - 1] + 1)
    evaluation = np.minimum(evaluation, max(n_steady_states - 1, 0))
    everything = np.arange(n_steady_states)
    distance = np.abs(position[:, None] - position[evaluation][None, :]).min(axis=1)
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


def attainable_positions(attainability: pd.DataFrame, sample_ids: Sequence[Any]) -> list[int]:
    """Positions (in ``sample_ids``, the rows of the environment's kinetic steady states) of
    the training steady states that the attainability screen kept (its table's
    ``attainable`` rows, ``results/envs/{env}/attainability.csv``, which name sample ids),
    ascending: what training uses, and what in-sample evaluation reports."""
    position = {sample_id: index for index, sample_id in enumerate(sample_ids)}
    kept = attainability.loc[attainability["attainable"], "steady_state"]
    missing = [s for s in kept if s not in position]
    if missing:
        raise KeyError(
            f"attainability names steady states {missing[:5]} that the kinetic steady states "
            "lack; rerun the attainability rule"
        )
    return sorted(position[s] for s in kept)
