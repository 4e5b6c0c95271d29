"""Which sampled steady states train the generator and which evaluate it (out of sample).

Steady states come from one OptGP chain per environment, so neighbours in the table are
correlated (effective sample size about 70-90 of 1000 on e_coli_core). The split takes
``n_train + n_evaluation`` evenly spaced positions along the whole chain and deals them out
alternately (as evenly as the two counts allow), so both sets cover the chain and every
evaluation steady state lies as far from the training ones as the counts allow. Attainability
screens and training use the training positions only; evaluation, ORACLE, the perturbation tests
and the bioreactor use the evaluation positions only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinetigen.schema import check_value, config_error


class SplitError(ValueError):
    """The environment has too few steady states for the configured split."""


@dataclass(frozen=True)
class SteadyStateSplit:
    """Positions (rows of steady_states.parquet) of the two disjoint sets."""

    train: np.ndarray
    evaluation: np.ndarray

    def positions(self, which: str) -> np.ndarray:
        """``"train"`` or ``"evaluation"`` positions."""
        if which not in ("train", "evaluation"):
            raise ValueError(f"unknown steady-state set {which!r}; use 'train' or 'evaluation'")
        return self.train if which == "train" else self.evaluation


def split_steady_states(
    n_steady_states: int, n_train: int, n_evaluation: int, environment: str = "?"
) -> SteadyStateSplit:
    """Disjoint, evenly interleaved training and evaluation positions (deterministic).

    Raises :class:`SplitError` naming the environment and the config keys when the table holds
    fewer than ``n_train + n_evaluation`` steady states.
    """
    total = n_train + n_evaluation
    check_value("kinetics.split.n_train", n_train, SplitError)
    check_value("kinetics.split.n_evaluation", n_evaluation, SplitError)
    if total > n_steady_states:
        raise config_error(
            "kinetics.split",
            f"n_train + n_evaluation = {total} exceed the {n_steady_states} steady states of "
            f"environment {environment!r}; sample more (sampling.n_samples) or split fewer",
            SplitError,
        )
    spaced = np.linspace(0, n_steady_states - 1, total).round().astype(int)
    # Slot i is an evaluation slot when floor((i+1) E / T) steps up: E of T slots, evenly.
    steps = np.arange(total + 1) * n_evaluation // total
    is_evaluation = np.diff(steps) == 1
    return SteadyStateSplit(train=spaced[~is_evaluation], evaluation=spaced[is_evaluation])
