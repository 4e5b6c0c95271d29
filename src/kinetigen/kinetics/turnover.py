"""Pool turnover: steady states in which some pool cannot relax fast enough, whatever the Km.

A rate law's elasticity to one of its saturating reactants is bounded by its stoichiometric
exponent over its distance from equilibrium: |d ln v / d ln x| <= n / (1 - Gamma), with
Gamma = exp(-|dG| / RT) for a reversible law and 0 for an irreversible one (saturation only
lowers it). So the rate of change of pool i responds to x_i by at most

    capacity_i = sum_j |N_ij| n_ij |v_j| / (1 - Gamma_j) / x_i          (1/h),

the sum over the laws in which i saturates: |J_ii| <= capacity_i for every Km, and the
whole column of the Jacobian for x_i (its effect on every pool) is bounded by the same terms.
A pool in no conserved moiety whose capacity is well below |lambda_thr| therefore barely
feels its own concentration, and the Jacobian tends to keep an eigenvalue near zero that no
Km set moves. On the iJO1366 core these are the pools that biomass draws at small rates (the
tryptophan branch: pran, 3ig3p, trp; glyc3p, 3mop), sampled up to the default upper bound
of 20 mM; in vivo such biosynthetic pools sit at micromolar levels and turn over in seconds
to minutes, far faster than the threshold asks (about 11 times the growth rate at k = 2).

``kinetics.pool_turnover.min_factor`` (k; null, the default: off) drops, before any kinetic
stage uses them, the steady states in which some such pool has capacity_i < k |lambda_thr|.
It is a screen, not a proof: a slow pool can borrow speed through its coupling, and of the
iJO1366 steady states the attainability screen found attainable 43-46 % had some pool
below k = 2 (README, "Slow pools", measures both sides).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # structure.py imports this module
    from kinetigen.kinetics.structure import KineticModel

logger = logging.getLogger(__name__)


def free_pools(model: KineticModel) -> np.ndarray:
    """Boolean [states]: the states in no conserved moiety (a moiety member can relax through
    its partners, e.g. NAD through NADH, so its own capacity says little)."""
    in_moiety = np.zeros(len(model.states), dtype=bool)
    if len(model.dependent):
        in_moiety[model.dependent] = True
        in_moiety[model.independent[np.any(model.link != 0, axis=0)]] = True
    return ~in_moiety


def pool_capacity(model: KineticModel) -> np.ndarray:
    """capacity [steady states, states] (1/h): the bound on |dx_i/dt / dx_i| of the module
    docstring, for every state in every steady state."""
    layout = model.layout
    n_states = len(model.states)
    is_state = layout.param_metabolite < n_states
    reaction = layout.param_reaction[is_state]
    state = layout.param_metabolite[is_state]
    exponent = layout.param_exponent[is_state]
    gamma = np.where(np.isnan(model.dg), 0.0, np.exp(-np.abs(model.dg) / model.settings.rt))
    gross = np.abs(model.flux) / (1.0 - np.minimum(gamma, 1.0 - 1e-12))  # [S, reactions]
    weight = np.abs(model.stoichiometry[state, reaction]) * exponent
    capacity = np.zeros((model.n_steady_states, n_states))
    np.add.at(capacity.T, state, (gross[:, reaction] * weight).T)
    return capacity / np.exp(model.ln_concentration[:, :n_states])


def slowest_pools(model: KineticModel) -> tuple[np.ndarray, np.ndarray]:
    """Per steady state, min over free pools of capacity / |lambda_thr| and that pool's state
    index (ratio inf, index -1 where no pool is free or the threshold is 0)."""
    free = free_pools(model)
    ratio = np.full((model.n_steady_states, len(model.states)), np.inf)
    limit = np.abs(model.threshold)[:, None]
    with np.errstate(divide="ignore"):
        ratio[:, free] = pool_capacity(model)[:, free] / limit
    slowest = np.argmin(ratio, axis=1) if ratio.shape[1] else np.zeros(len(ratio), dtype=int)
    worst = ratio[np.arange(len(ratio)), slowest] if ratio.shape[1] else np.full(len(ratio), np.inf)
    return worst, np.where(np.isfinite(worst), slowest, -1)


def pool_turnover_table(model: KineticModel, min_factor: float | None) -> pd.DataFrame:
    """One row per steady state (index: sample id): ``slowest_pool`` (the free pool of least
    capacity / |lambda_thr|; "" when none is free), ``capacity_per_h``, ``threshold_per_h``,
    ``ratio`` (capacity / |lambda_thr|) and ``kept`` (ratio >= ``min_factor``; all True when
    it is None)."""
    ratio, slowest = slowest_pools(model)
    return pd.DataFrame(
        {
            "slowest_pool": [model.states[i] if i >= 0 else "" for i in slowest],
            "capacity_per_h": ratio * np.abs(model.threshold),
            "threshold_per_h": model.threshold,
            "ratio": ratio,
            "kept": np.ones(len(ratio), bool) if min_factor is None else ratio >= min_factor,
        },
        index=pd.Index(model.sample_ids, name="sample"),
    )


def screen_steady_states(
    samples: pd.DataFrame, model: KineticModel, min_factor: float | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the samples kept, :func:`pool_turnover_table`) for ``model`` built on ``samples``.

    Logs how many steady states are dropped and the pools that set it; raises ValueError
    naming the environment, the config key and the pools when none is left."""
    table = pool_turnover_table(model, min_factor)
    dropped = table[~table["kept"]]
    if len(dropped):
        pools = dropped["slowest_pool"].value_counts().head(5).to_dict()
        message = (
            f"environment {model.environment!r}: {len(dropped)} of {len(table)} steady states "
            f"have a pool whose capacity is below kinetics.pool_turnover.min_factor = "
            f"{min_factor:g} x |lambda_thr| (slowest pool: steady states {pools})"
        )
        if len(dropped) == len(table):
            raise ValueError(
                message + "; none is left: lower the factor, or bound those pools' "
                "concentrations (physiology or the environment's concentrations)"
            )
        logger.info("%s; they are dropped", message)
    logger.info(
        "environment %r: median slowest-pool ratio %.3g, %d of %d steady states kept",
        model.environment,
        float(np.median(table["ratio"])),
        int(table["kept"].sum()),
        len(table),
    )
    return samples.loc[table.index[table["kept"]]], table
