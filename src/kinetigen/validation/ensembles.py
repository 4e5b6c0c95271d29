"""Ensembles of parameterised models for validation: generated, ORACLE-valid and invalid.

Every model is a (steady-state position, ln Km) pair of one environment's kinetic model, with
its lambda_max and validity threshold. Generated models come from a trained generator; the
control groups regenerate ORACLE draws by index from the ORACLE seed, so no parameter table
has to be stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from kinetigen.generator import ConditionEncoder, Generator
from kinetigen.kinetics import BatchedJacobian, KineticModel, ParameterSpace
from kinetigen.kinetics.screening import oracle_parameter_sets

log = logging.getLogger(__name__)

# Column prefixes of results/validation/{env}/parameters.parquet (one column per Km parameter).
LN_KM_PREFIX = "ln_km:"
SATURATION_PREFIX = "saturation:"


@dataclass
class ModelSet:
    """Models of one group: ``ln_km`` in the kinetic model's own parameter order."""

    group: str
    positions: np.ndarray  # [n] steady-state positions
    ln_km: np.ndarray  # [n, P]
    lambda_max: np.ndarray  # [n] 1/h
    threshold: np.ndarray  # [n] 1/h

    def __len__(self) -> int:
        return len(self.positions)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "group": self.group,
                "model": np.arange(len(self)),
                "steady_state": self.positions,
                "lambda_max": self.lambda_max,
                "threshold": self.threshold,
                "valid": self.lambda_max < self.threshold,
            }
        )

    def parameter_table(self, model: KineticModel) -> pd.DataFrame:
        """One row per model: group, model, steady_state, ``ln_km:<parameter>`` (ln of Km in
        mol/L) and ``saturation:<parameter>`` (sigma = x/(x+Km) at the model's steady state),
        with ``model``'s parameter names; rows line up with :meth:`table`."""
        ln_km = np.asarray(self.ln_km, dtype=float).reshape(len(self), len(model.parameters))
        saturation = model.saturation_from_ln_km(ln_km, self.positions)
        return pd.concat(
            [
                self.table()[["group", "model", "steady_state"]],
                pd.DataFrame(ln_km, columns=[LN_KM_PREFIX + n for n in model.parameter_names]),
                pd.DataFrame(
                    saturation, columns=[SATURATION_PREFIX + n for n in model.parameter_names]
                ),
            ],
            axis=1,
        )


@torch.no_grad()
def generated_models(
    generator: Generator,
    encoder: ConditionEncoder | None,
    model: KineticModel,
    samples: pd.DataFrame,
    space: ParameterSpace,
    positions: list[int],
    n_models: int,
    seed: int,
    only_valid: bool = True,
    batch_size: int = 1000,
    max_draws: int = 100_000,
) -> ModelSet:
    """Draw models from ``generator`` on steady states ``positions`` (cycled evenly).

    With ``only_valid`` keeps drawing until ``n_models`` valid ones are found (or
    ``max_draws`` is spent, with a warning).
    """
    index = space.index_of(model)
    jacobian = BatchedJacobian(model, shared_index=index)
    rng = torch.Generator().manual_seed(seed)
    conditions = None if encoder is None else encoder.transform_tensor(samples)
    kept_pos, kept_km, kept_lambda = [], [], []
    drawn = kept = 0
    while kept < n_models and drawn < max_draws:
        chosen = torch.as_tensor(positions)[
            torch.arange(drawn, drawn + batch_size) % len(positions)
        ]
        ln_x = None
        if generator.needs_concentrations:
            ln_x = torch.as_tensor(space.ln_concentration(model, chosen.tolist()))
        ln_km = generator.sample(
            batch_size, None if conditions is None else conditions[chosen], rng, ln_x
        )
        lambda_max = jacobian.lambda_max(ln_km, chosen).cpu().numpy()
        keep = (
            lambda_max < model.threshold[chosen.numpy()]
            if only_valid
            else np.ones_like(lambda_max, dtype=bool)
        )
        kept_pos.append(chosen.numpy()[keep])
        kept_km.append(ln_km.numpy()[keep][:, index])
        kept_lambda.append(lambda_max[keep])
        drawn += batch_size
        kept += int(keep.sum())
    if kept < n_models:
        log.warning(
            "%s: only %d valid generated models in %d draws", model.environment, kept, drawn
        )
    log.info("%s: %d generated models kept of %d drawn", model.environment, kept, drawn)
    pos = np.concatenate(kept_pos)[:n_models]
    return ModelSet(
        "generated",
        pos,
        np.concatenate(kept_km)[:n_models],
        np.concatenate(kept_lambda)[:n_models],
        model.threshold[pos],
    )


# ORACLE groups of the validation: valid, stable but too slow (threshold <= lambda_max < 0:
# the control that tests the criterion), and unstable (lambda_max >= 0, finite).
ORACLE_GROUPS = ("oracle", "slow", "unstable")


def oracle_models(
    model: KineticModel,
    oracle: pd.DataFrame,
    group: str,
    n_models: int,
    seed: int,
    batch_size: int,
    n_total: int,
) -> ModelSet:
    """The first ``n_models`` ORACLE draws of ``group`` (:data:`ORACLE_GROUPS`), regenerated
    by index. ``seed``, ``batch_size`` and ``n_total`` must be those of the ORACLE run."""
    lambda_max = oracle["lambda_max"].to_numpy(float)
    if group == "oracle":
        chosen = oracle["valid"].to_numpy(bool)
    elif group == "slow":
        chosen = ~oracle["valid"].to_numpy(bool) & (lambda_max < 0)
    elif group == "unstable":
        chosen = np.isfinite(lambda_max) & (lambda_max >= 0)
    else:
        raise ValueError(f"unknown ORACLE group {group!r}; choose one of {ORACLE_GROUPS}")
    rows = oracle[chosen].head(n_models)
    positions, ln_km = oracle_parameter_sets(
        model, rows["sample"].to_numpy(), seed, batch_size, n_total
    )
    return ModelSet(
        group,
        positions,
        ln_km,
        rows["lambda_max"].to_numpy(float),
        model.threshold[positions],
    )
