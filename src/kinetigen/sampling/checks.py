"""Checks of a steady-state table: every sample a feasible steady state of its environment.

:func:`steady_state_violations` lists every breach, one row each; :func:`check_steady_states`
raises :class:`~kinetigen.sampling.errors.SteadyStateViolation` when there is any. Both read
the environment's constrained reactions, ln c bounds, basis and bands from its
:class:`~kinetigen.sampling.environment.ThermoEnvironment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kinetigen.columns import DG, DG0, FLUX, LNC, UNCERTAINTY, columns
from kinetigen.sampling.environment import ZERO_FLUX, ThermoEnvironment
from kinetigen.sampling.errors import SteadyStateViolation
from kinetigen.settings import SamplingSettings

# Checker tolerances: mass balance and dG identities (kJ/mol), bounds and the dG margin, and
# the dG'0 band (kJ/mol; the polytope keeps the band shrunk by SAMPLER_BUFFER or more).
BALANCE_TOLERANCE = 1e-6
IDENTITY_TOLERANCE = 1e-6
BOUND_TOLERANCE = 1e-9
BAND_TOLERANCE = 1e-9
VIOLATION_COLUMNS = ["sample", "check", "id", "value", "limit"]


class _Violations:
    """Breaches found so far, one block per check."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self.found: list[pd.DataFrame] = []

    def report(self, check: str, ids: list[str], values: np.ndarray, limits, bad) -> None:
        rows, where = np.nonzero(bad)
        if len(rows):
            limits = np.broadcast_to(np.asarray(limits, dtype=float), values.shape)
            self.found.append(
                pd.DataFrame(
                    {
                        "sample": self.labels[rows],
                        "check": check,
                        "id": np.asarray(ids, dtype=object)[where],
                        "value": values[rows, where],
                        "limit": limits[rows, where],
                    }
                )
            )

    def table(self) -> pd.DataFrame:
        if not self.found:
            return pd.DataFrame(columns=VIOLATION_COLUMNS)
        return pd.concat(self.found, ignore_index=True)


def steady_state_violations(
    samples: pd.DataFrame,
    env: ThermoEnvironment,
    sampling: SamplingSettings | Mapping[str, Any],
    *,
    min_growth: float,
    directionality: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Every breach of the steady-state conditions, one row each.

    Checks, per sample: |S v| <= 1e-6 per metabolite; fluxes within the environment's
    bounds; growth >= ``min_growth``; ln c within bounds; |m| <= z; every dG'0 within its
    band |dg0 - mean| <= z sigma (sigma = ||Q_j||_2, the marginal standard deviation of the
    basis; to :data:`BAND_TOLERANCE` kJ/mol); dg0 = mean + Q m and
    dg = dg0 + RT sum nu ln c to 1e-6 kJ/mol; for every constrained reaction with
    |v| > 1e-9, sign(v) dG < 0 and |dG| >= ``sampling.min_abs_dg_kJ``; with
    ``directionality``, the sign of every flux and |v| >= ``sampling.min_abs_flux`` for
    active reactions. Bounds and the dG margin are checked to 1e-9.

    Returns
    -------
    DataFrame with columns sample (index label), check, id, value, limit (empty if all pass).
    """
    sampling = SamplingSettings.coerce(sampling)
    _require_columns(samples, env)
    found = _Violations(samples.index.to_numpy())
    fluxes = samples[columns(FLUX, [r.id for r in env.model.reactions])].to_numpy(float)
    _check_fluxes(found, env, fluxes, min_growth)
    lnc = samples[columns(LNC, env.lnc_bounds)].to_numpy(float)
    _check_concentrations(found, env, lnc)
    dg = _check_energies(found, env, samples, lnc)
    _check_directions(found, env, fluxes, dg, sampling, directionality)
    return found.table()


def _require_columns(samples: pd.DataFrame, env: ThermoEnvironment) -> None:
    needed = (
        columns(FLUX, [r.id for r in env.model.reactions])
        + columns(LNC, env.lnc_bounds)
        + columns(DG0, env.constrained)
        + columns(DG, env.constrained)
        + columns(UNCERTAINTY, env.basis.columns)
    )
    missing = [column for column in needed if column not in samples.columns]
    if missing:
        raise ValueError(
            f"environment {env.name!r}: sample table lacks {len(missing)} column(s), e.g. "
            f"{missing[:5]}"
        )


def _check_fluxes(
    found: _Violations, env: ThermoEnvironment, fluxes: np.ndarray, min_growth: float
) -> None:
    """Mass balance, flux bounds and the growth floor."""
    reactions = [r.id for r in env.model.reactions]
    balance = fluxes @ env.stoichiometry.T
    found.report(
        "mass balance", [m.id for m in env.model.metabolites], balance, BALANCE_TOLERANCE,
        np.abs(balance) > BALANCE_TOLERANCE,
    )
    lower, upper = env.flux_bounds
    found.report("flux lower bound", reactions, fluxes, lower, fluxes < lower - BOUND_TOLERANCE)
    found.report("flux upper bound", reactions, fluxes, upper, fluxes > upper + BOUND_TOLERANCE)
    growth = fluxes[:, [reactions.index(env.biomass_reaction)]]
    found.report(
        "growth minimum", [env.biomass_reaction], growth, min_growth,
        growth < min_growth - BOUND_TOLERANCE,
    )


def _check_concentrations(found: _Violations, env: ThermoEnvironment, lnc: np.ndarray) -> None:
    """ln c within its bounds."""
    lnc_ids = list(env.lnc_bounds)
    low = np.array([env.lnc_bounds[m][0] for m in lnc_ids])
    high = np.array([env.lnc_bounds[m][1] for m in lnc_ids])
    found.report("ln c lower bound", lnc_ids, lnc, low, lnc < low - BOUND_TOLERANCE)
    found.report("ln c upper bound", lnc_ids, lnc, high, lnc > high + BOUND_TOLERANCE)


def _check_energies(
    found: _Violations, env: ThermoEnvironment, samples: pd.DataFrame, lnc: np.ndarray
) -> np.ndarray:
    """|m| <= z, the dG'0 bands and the identities of dG'0 and dG; returns dG."""
    constrained, z_score = env.constrained, env.z_score
    axes = list(env.basis.columns)
    m = samples[columns(UNCERTAINTY, axes)].to_numpy(float)
    found.report("uncertainty |m|", axes, np.abs(m), z_score, np.abs(m) > z_score + BOUND_TOLERANCE)
    dg0 = samples[columns(DG0, constrained)].to_numpy(float)
    mean = env.energies.mean(constrained)
    deviation = np.abs(dg0 - mean)
    half_width = z_score * env.dg0_std.loc[constrained].to_numpy()
    found.report(
        "dg0 band |dg0 - mean| <= z std", constrained, deviation, half_width,
        deviation > half_width + BAND_TOLERANCE,
    )
    expected_dg0 = mean + m @ env.basis.to_numpy().T
    found.report(
        "dg0 = mean + Q m", constrained, dg0, expected_dg0,
        np.abs(dg0 - expected_dg0) > IDENTITY_TOLERANCE,
    )
    dg = samples[columns(DG, constrained)].to_numpy(float)
    expected_dg = dg0 + env.rt * lnc @ env.lnc_stoichiometry.T
    found.report(
        "dg = dg0 + RT sum nu ln c", constrained, dg, expected_dg,
        np.abs(dg - expected_dg) > IDENTITY_TOLERANCE,
    )
    return dg


def _check_directions(
    found: _Violations,
    env: ThermoEnvironment,
    fluxes: np.ndarray,
    dg: np.ndarray,
    sampling: SamplingSettings,
    directionality: Mapping[str, int] | None,
) -> None:
    """The second law (sign and margin of dG of active reactions) and, with a profile, the
    sign and the minimum of every flux."""
    reactions, constrained = [r.id for r in env.model.reactions], env.constrained
    flux_of = fluxes[:, [reactions.index(r) for r in constrained]]
    active = np.abs(flux_of) > ZERO_FLUX
    found.report(
        "dG sign (sign(v) dG < 0)", constrained, dg, 0.0, active & (np.sign(flux_of) * dg >= 0)
    )
    margin = sampling.min_abs_dg_kJ
    found.report(
        "dG margin |dG|", constrained, np.abs(dg), margin,
        active & (np.abs(dg) < margin - BOUND_TOLERANCE),
    )
    if directionality is None:
        return
    profile = np.array([directionality.get(r, 0) for r in reactions])
    signs = np.where(np.abs(fluxes) > ZERO_FLUX, np.sign(fluxes), 0)
    found.report("direction against profile", reactions, signs, profile, signs != profile)
    min_flux = sampling.min_abs_flux
    found.report(
        "active |v| minimum", reactions, np.abs(fluxes), min_flux,
        (profile != 0) & (np.abs(fluxes) < min_flux - BOUND_TOLERANCE),
    )


def check_steady_states(
    samples: pd.DataFrame,
    env: ThermoEnvironment,
    sampling: SamplingSettings | Mapping[str, Any],
    *,
    min_growth: float,
    directionality: Mapping[str, int] | None = None,
) -> None:
    """Raise :class:`SteadyStateViolation` (naming sample and reaction/metabolite) if any
    sample breaks a condition of :func:`steady_state_violations`."""
    violations = steady_state_violations(
        samples, env, sampling, min_growth=min_growth, directionality=directionality
    )
    if len(violations):
        raise SteadyStateViolation(env.name, violations)
