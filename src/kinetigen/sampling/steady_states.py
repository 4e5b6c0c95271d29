"""Steady-state sampling: many thermodynamically feasible physiologies per environment.

The directionality profile of the TFA reference (:func:`kinetigen.sampling.tfa.run_tfa`) is
fixed, which drops the binaries and leaves a convex polytope in (v, ln c, m):

- S v = 0; every flux within the environment's bounds and the sign its profile gives:
  active reactions |v| >= ``min_abs_flux``, inactive ones v = 0; growth >= the minimum;
- ln c within its bounds, |m_k| <= z, and every constrained reaction's dG'0 within its own
  band |(Q m)_j| <= z sigma_j (sigma_j = ||Q_j||_2, see :mod:`kinetigen.sampling.tfa`);
- for every active constrained reaction j with sign s_j:
  s_j dG_j <= -margin, dG_j = dg0_mean_j + (Q m)_j + RT sum_i nu_ij ln c_i,
  margin = max(``min_abs_dg_kJ``, ``tfa.epsilon_kJ``).

cobra's hit-and-run samplers (OptGP or ACHR) sample every optlang variable but take their
warm-up points only from minimising and maximising each *reaction*, and their search
directions are differences of warm-up points: a variable that no warm-up point moves, or a
constraint that every warm-up point keeps tight, is never left. So ln c, m and the dG of every
active constrained reaction enter the sampling model as pseudo-reactions without metabolites,
shifted to start at zero and one-signed (no forward/reverse split): ``LnC_<met>`` = ln c minus
its lower bound, ``M_<k>`` = m + z, ``DG_<rxn>`` as the distance of dG from the
margin (-dG - margin forward, dG - margin backward), tied to (m, ln c) by an equality row.
The warm-up LPs run on GLPK when it is installed (deterministic, incremental, about ten times
faster than re-building each LP for HiGHS); the samples do not depend on that choice beyond
the warm-up vertices.

The samplers step up to their feasibility tolerance (1e-7) past a bound, so the polytope
handed to them is shrunk by :data:`SAMPLER_BUFFER` on every bound wider than a few buffers and
on the dG margin; the dG'0 bands, rows whose bounds the samplers scale by (1 - tolerance), also
by that tolerance times the bound. Each sample is then cleaned: fluxes are projected back onto
S v = 0 (least norm, inactive and fixed fluxes untouched), dG'0 and dG are computed from m and
ln c, and :func:`steady_state_violations` screens every sample (the dG'0 bands included); any
sample that still fails is dropped (and logged) and replaced by further sampling.

Output columns (one row per sample): ``flux:<reaction>`` (mmol/gDW/h, net, every reaction),
``lnc:<metabolite>`` (ln mol/L, every metabolite but H+ and H2O), ``dg0:<reaction>`` and
``dg:<reaction>`` (kJ/mol, every constrained reaction), and ``m:<k>`` (dimensionless
coordinates along the principal axes of the dG'0 uncertainty,
:func:`kinetigen.sampling.tfa.uncertainty_basis`: dg0 = mean + Q_r m, |m| <= z and
|dg0 - mean| <= z sigma; kept so that the uncertainty region can be checked).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cobra
import numpy as np
import pandas as pd
from cobra.sampling import ACHRSampler, OptGPSampler
from cobra.util import create_stoichiometric_matrix
from optlang.symbolics import Zero

from kinetigen.network import apply_environment
from kinetigen.sampling.relaxation import InfeasibleTFA
from kinetigen.sampling.tfa import (
    ZERO_FLUX,
    TFAProblem,
    ThermoEnvironment,
    build_tfa_problem,
    dg0_marginal_std,
    gas_constant_times_temperature,
    ln_concentration_bounds,
    maximize_growth,
    split_reactions,
    uncertainty_basis,
)

logger = logging.getLogger(__name__)

SAMPLERS = ("optgp", "achr")
# Inward shift of the sampler's bounds: ten times cobra's feasibility tolerance (1e-7).
SAMPLER_BUFFER = 1e-6
# Checker tolerances: mass balance and dG identities (kJ/mol), bounds and the dG margin, and
# the dG'0 band (kJ/mol; the polytope keeps the band shrunk by SAMPLER_BUFFER or more).
BALANCE_TOLERANCE = 1e-6
IDENTITY_TOLERANCE = 1e-6
BOUND_TOLERANCE = 1e-9
BAND_TOLERANCE = 1e-9
# Extra sampling rounds when screening drops samples.
MAX_TOP_UP_ROUNDS = 5


class SteadyStateViolation(ValueError):
    """A sample breaks a steady-state condition; ``violations`` lists all breaches."""

    def __init__(self, env_name: str, violations: pd.DataFrame) -> None:
        self.environment = env_name
        self.violations = violations
        shown = "; ".join(
            f"sample {row.sample}: {row.check} of {row.id} is {row.value:.6g} "
            f"(limit {row.limit:.6g})"
            for row in violations.head(5).itertuples()
        )
        n_samples = violations["sample"].nunique()
        super().__init__(
            f"environment {env_name!r}: {len(violations)} steady-state violation(s) in "
            f"{n_samples} sample(s): {shown}"
        )


def validate_sampling_config(sampling: Mapping[str, Any]) -> None:
    """Raise a ValueError naming the config key of a bad sampling setting."""
    checks = {
        "n_samples": lambda v: isinstance(v, int) and v > 0,
        "sampler": lambda v: v in SAMPLERS,
        "thinning": lambda v: isinstance(v, int) and v > 0,
        "min_abs_dg_kJ": lambda v: isinstance(v, int | float) and v >= 0,
        "min_abs_flux": lambda v: isinstance(v, int | float) and v > 0,
        "processes": lambda v: isinstance(v, int) and v > 0,
    }
    for key, valid in checks.items():
        if key not in sampling:
            raise ValueError(f"config key 'sampling.{key}' is missing")
        if not valid(sampling[key]):
            raise ValueError(f"config key 'sampling.{key}' has an invalid value {sampling[key]!r}")


# --------------------------------------------------------------------------------------------
# The polytope


@dataclass
class SamplingPolytope:
    """The continuous sampling model and how to read physical values back from it."""

    model: cobra.Model
    env_name: str
    reactions: list[str]  # every real reaction, model order
    constrained: list[str]
    lnc_ids: list[str]
    lnc_offset: np.ndarray  # ln c = LnC pseudo-flux + offset
    basis: pd.DataFrame  # Q_r of uncertainty_basis
    m_offset: float  # m = M pseudo-flux - m_offset
    dg0_mean: np.ndarray
    lnc_stoichiometry: np.ndarray  # constrained reactions x lnc_ids, the nu of the RT sum
    rt: float
    free_reactions: np.ndarray  # indices of fluxes the S v = 0 projection may move
    balance_projector: np.ndarray  # pinv(S[:, free])


def _pseudo_reaction(reaction_id: str, width: float) -> cobra.Reaction:
    """A metabolite-free reaction whose flux carries a shifted ln c or m in [0, width]."""
    return cobra.Reaction(reaction_id, lower_bound=0.0, upper_bound=max(width, 0.0))


def _fresh_copy(model: cobra.Model) -> cobra.Model:
    """The network rebuilt reaction by reaction in a new model on GLPK (if installed).

    Rebuilt rather than copied: cloning optlang's hybrid problem walks sets whose order
    follows Python's hash seed, which reorders coefficients, changes LP round-off in the
    warm-up and so, through the chaotic sampler, every sample from one run to the next.
    """
    fresh = cobra.Model(f"{model.id}_steady_states")
    try:
        import swiglpk  # noqa: F401

        fresh.solver = "glpk"
    except ImportError:
        fresh.solver = model.solver.interface
    fresh.add_reactions([reaction.copy() for reaction in model.reactions])
    return fresh


def _shrink(
    low: float, high: float, buffer: float, relative: float = 0.0
) -> tuple[float, float]:
    """Bounds moved inward by ``buffer`` (plus ``relative`` x |bound|) where the interval is
    wide enough to take it."""
    low_shift = buffer + relative * abs(low)
    high_shift = buffer + relative * abs(high)
    if high - low > 2 * (low_shift + high_shift):
        return low + low_shift, high - high_shift
    return low, high


def build_sampling_polytope(
    model: cobra.Model,
    problem: TFAProblem,
    environment: Mapping[str, Any],
    directionality: Mapping[str, int],
    min_growth: float,
    min_abs_dg_kJ: float,
    min_abs_flux: float,
) -> SamplingPolytope:
    """Continuous cobra model of the steady states with the profile ``directionality`` fixed.

    ``model`` is the network (not modified); ``problem`` the TFA problem of the same
    environment, which supplies the constrained reactions, ln c bounds and basis.
    """
    env_name = problem.env_name
    continuous = _fresh_copy(model)
    apply_environment(continuous, env_name, environment)
    reactions = [r.id for r in continuous.reactions]
    unknown = sorted(set(directionality) - set(reactions))
    missing = sorted(set(reactions) - set(directionality))
    if unknown or missing:
        raise ValueError(
            f"environment {env_name!r}: directionality profile does not match the model "
            f"(unknown reactions {unknown[:5]}, missing reactions {missing[:5]})"
        )
    buffer = SAMPLER_BUFFER
    for reaction in continuous.reactions:
        sign = directionality[reaction.id]
        low, high = reaction.bounds
        if sign not in (-1, 0, 1):
            raise ValueError(
                f"environment {env_name!r}: directionality of {reaction.id} must be -1, 0 or 1, "
                f"got {sign!r}"
            )
        if sign == 1:
            low = max(low, min_abs_flux)
        elif sign == -1:
            high = min(high, -min_abs_flux)
        elif low > 0 or high < 0:
            raise ValueError(
                f"environment {env_name!r}: directionality says {reaction.id} carries no flux, "
                f"but its bounds are [{low}, {high}]"
            )
        else:
            low = high = 0.0
        if reaction.id == problem.biomass_reaction:
            low = max(low, min_growth)
        if low > high:
            raise ValueError(
                f"environment {env_name!r}: reaction {reaction.id} cannot carry flux of sign "
                f"{sign} with |v| >= {min_abs_flux} within its bounds {reaction.bounds}"
            )
        reaction.bounds = _shrink(low, high, buffer)

    ids = set(reactions)
    z = problem.z_score
    lnc_ids = list(problem.lnc_bounds)
    lnc_offset = np.empty(len(lnc_ids))
    pseudo = []
    for i, metabolite_id in enumerate(lnc_ids):
        low, high = _shrink(*problem.lnc_bounds[metabolite_id], buffer)
        lnc_offset[i] = low
        pseudo.append(_pseudo_reaction(f"LnC_{metabolite_id}", high - low))
    basis = problem.basis
    m_low, m_high = _shrink(-z, z, buffer)
    pseudo += [_pseudo_reaction(f"M_{column}", m_high - m_low) for column in basis.columns]
    pseudo_ids = {r.id for r in pseudo} | {f"DG_{r}" for r in problem.constrained}
    clashes = sorted(ids & pseudo_ids)
    if clashes:
        raise ValueError(f"model reaction ids clash with sampling variable names: {clashes}")
    continuous.add_reactions(pseudo)

    constrained = problem.constrained
    lnc_index = {m: i for i, m in enumerate(lnc_ids)}
    nu = np.zeros((len(constrained), len(lnc_ids)))
    for j, reaction_id in enumerate(constrained):
        for metabolite_id, coefficient in problem.terms[reaction_id].items():
            nu[j, lnc_index[metabolite_id]] = coefficient
    q = basis.to_numpy()
    dg0_mean = problem.dg0_mean.loc[constrained].to_numpy(float)
    # dG with every pseudo-flux at 0, i.e. m = m_low and ln c = its offset
    dg_at_origin = dg0_mean + q.sum(axis=1) * m_low + problem.rt * nu @ lnc_offset
    margin = max(float(min_abs_dg_kJ), problem.epsilon) + buffer
    active = [r for r in constrained if directionality[r] != 0]
    headroom = {}
    for reaction_id in active:
        low, high = problem.dg_bounds[reaction_id]
        # largest distance from the margin that the box of (m, ln c) allows
        headroom[reaction_id] = (-low if directionality[reaction_id] > 0 else high) - margin
    continuous.add_reactions(
        [_pseudo_reaction(f"DG_{r}", headroom[r]) for r in active]
    )
    lnc_variables = [continuous.reactions.get_by_id(f"LnC_{m}").forward_variable for m in lnc_ids]
    m_variables = [
        continuous.reactions.get_by_id(f"M_{c}").forward_variable for c in basis.columns
    ]
    constraints, coefficients = [], {}
    # dG'0 bands: (Q m)_j = (Q M)_j + m_low sum_k Q_jk, so |(Q m)_j| <= z sigma_j reads
    # -z sigma_j - c_j <= (Q M)_j <= z sigma_j - c_j with c_j = m_low sum_k Q_jk. The samplers
    # stop at (1 - tolerance) x each row bound, which for a positive lower (negative upper)
    # bound lies outside it: the extra relative shrink covers that.
    centre = m_low * q.sum(axis=1)
    for j, reaction_id in enumerate(constrained):
        half_width = z * float(problem.dg0_std[reaction_id])
        if half_width == 0.0:
            continue
        low, high = _shrink(
            -half_width - centre[j], half_width - centre[j], buffer, continuous.tolerance
        )
        band = continuous.problem.Constraint(Zero, lb=low, ub=high, name=f"DG0band_{reaction_id}")
        constraints.append(band)
        coefficients[band] = {m_variables[k]: float(q[j, k]) for k in np.flatnonzero(q[j])}
    for j, reaction_id in enumerate(constrained):
        sign = directionality[reaction_id]
        if sign == 0:
            continue
        # forward: dG = -(margin + DG pseudo-flux); backward: dG = margin + DG pseudo-flux
        constraint = continuous.problem.Constraint(
            Zero,
            lb=-sign * margin - dg_at_origin[j],
            ub=-sign * margin - dg_at_origin[j],
            name=f"DGdef_{reaction_id}",
        )
        terms = {m_variables[k]: float(q[j, k]) for k in np.flatnonzero(q[j])}
        terms.update(
            {lnc_variables[i]: problem.rt * float(nu[j, i]) for i in np.flatnonzero(nu[j])}
        )
        terms[continuous.reactions.get_by_id(f"DG_{reaction_id}").forward_variable] = float(
            sign
        )
        constraints.append(constraint)
        coefficients[constraint] = terms
    continuous.add_cons_vars(constraints)
    continuous.solver.update()
    for constraint, terms in coefficients.items():
        constraint.set_linear_coefficients(terms)
    continuous.objective = Zero

    stoichiometry = create_stoichiometric_matrix(model, array_type="dense")
    fixed = np.array(
        [
            directionality[r] == 0
            or continuous.reactions.get_by_id(r).upper_bound
            - continuous.reactions.get_by_id(r).lower_bound
            <= 0
            for r in reactions
        ]
    )
    free = np.flatnonzero(~fixed)
    return SamplingPolytope(
        model=continuous,
        env_name=env_name,
        reactions=reactions,
        constrained=constrained,
        lnc_ids=lnc_ids,
        lnc_offset=lnc_offset,
        basis=basis,
        m_offset=-m_low,
        dg0_mean=dg0_mean,
        lnc_stoichiometry=nu,
        rt=problem.rt,
        free_reactions=free,
        balance_projector=np.linalg.pinv(stoichiometry[:, free]),
    )


def _physical_samples(
    polytope: SamplingPolytope, raw: pd.DataFrame, stoichiometry: np.ndarray
) -> pd.DataFrame:
    """Sample table in physical units from the sampler's variable values."""
    model = polytope.model

    def net(reaction_id: str) -> np.ndarray:
        reaction = model.reactions.get_by_id(reaction_id)
        return (
            raw[reaction.forward_variable.name].to_numpy()
            - raw[reaction.reverse_variable.name].to_numpy()
        )

    fluxes = np.column_stack([net(r) for r in polytope.reactions])
    # least-norm correction of the sampler's round-off in S v = 0, on free fluxes only
    residual = fluxes @ stoichiometry.T
    fluxes[:, polytope.free_reactions] -= residual @ polytope.balance_projector.T
    lnc = np.column_stack([net(f"LnC_{m}") for m in polytope.lnc_ids]) + polytope.lnc_offset
    m = np.column_stack([net(f"M_{c}") for c in polytope.basis.columns]) - polytope.m_offset
    dg0 = polytope.dg0_mean + m @ polytope.basis.to_numpy().T
    dg = dg0 + polytope.rt * lnc @ polytope.lnc_stoichiometry.T
    blocks = [
        pd.DataFrame(fluxes, columns=[f"flux:{r}" for r in polytope.reactions]),
        pd.DataFrame(lnc, columns=[f"lnc:{i}" for i in polytope.lnc_ids]),
        pd.DataFrame(dg0, columns=[f"dg0:{r}" for r in polytope.constrained]),
        pd.DataFrame(dg, columns=[f"dg:{r}" for r in polytope.constrained]),
        pd.DataFrame(m, columns=[f"m:{c}" for c in polytope.basis.columns]),
    ]
    return pd.concat(blocks, axis=1)


# --------------------------------------------------------------------------------------------
# The Snakemake stage


def sample_steady_states(
    env: ThermoEnvironment,
    tfa: Mapping[str, Any],
    sampling: Mapping[str, Any],
    directionality: Mapping[str, int],
    seed: int,
    *,
    min_growth: float | None = None,
) -> pd.DataFrame:
    """Sample ``sampling["n_samples"]`` steady states of one environment.

    Parameters
    ----------
    env
        The environment; its bounds are applied to a copy of the network.
    tfa, sampling
        The config sections of those names.
    directionality
        {reaction: +1 | -1 | 0}, the ``directionality`` of :func:`run_tfa`'s summary.
    seed
        Seeds the sampler (numpy's global generator, which cobra's samplers use).
    min_growth
        Growth floor in 1/h (``min_growth`` of the TFA summary); by default recomputed as
        ``tfa["min_growth_fraction"]`` x the TFA optimum.

    Returns
    -------
    DataFrame, one row per sample, columns as in the module docstring; every row passes
    :func:`check_steady_states`.
    """
    validate_sampling_config(sampling)
    start = time.perf_counter()
    env_name = env.name
    problem = build_tfa_problem(env, tfa)
    if min_growth is None:
        status, growth = maximize_growth(problem)
        if not growth > 0:
            raise InfeasibleTFA(env_name, f"TFA growth optimum is {status}")
        min_growth = float(tfa["min_growth_fraction"]) * growth
    polytope = build_sampling_polytope(
        env.model, problem, env.environment, directionality, min_growth,
        float(sampling["min_abs_dg_kJ"]), float(sampling["min_abs_flux"]),
    )
    if not math.isfinite(polytope.model.slim_optimize()):
        raise ValueError(
            f"environment {env_name!r}: no steady state has the reference directionality with "
            f"|dG| >= {sampling['min_abs_dg_kJ']} kJ/mol and |v| >= {sampling['min_abs_flux']}; "
            "pass the sampling section to run_tfa so the reference honours these margins"
        )
    n_samples = int(sampling["n_samples"])
    logger.info(
        "environment %s: sampling %d steady states with %s (thinning %d) in %d dimensions",
        env_name, n_samples, sampling["sampler"], sampling["thinning"],
        len(polytope.model.variables),
    )
    sampler = _make_sampler(polytope.model, sampling, seed)
    logger.info(
        "environment %s: %d warm-up points in %.1f s",
        env_name, sampler.n_warmup, time.perf_counter() - start,
    )
    stoichiometry = create_stoichiometric_matrix(env.model, array_type="dense")
    kept: list[pd.DataFrame] = []
    n_kept = dropped = 0
    sampling_start = time.perf_counter()
    for round_index in range(MAX_TOP_UP_ROUNDS + 1):
        wanted = n_samples - n_kept
        if wanted <= 0:
            break
        if round_index and sampling["sampler"] == "optgp":
            # OptGP reseeds numpy from its seed on every call; a new one avoids a replay.
            sampler._seed = (seed + 7919 * round_index) % np.iinfo(np.int32).max
        raw = sampler.sample(wanted, fluxes=False).iloc[:wanted]
        batch = _physical_samples(polytope, raw, stoichiometry)
        violations = steady_state_violations(
            batch, env, sampling, min_growth=min_growth, directionality=directionality
        )
        bad = violations["sample"].unique()
        if len(bad):
            first = violations.iloc[0]
            logger.warning(
                "environment %s: dropped %d of %d samples (e.g. %s of %s: %.3g vs %.3g)",
                env_name, len(bad), len(batch), first["check"], first["id"], first["value"],
                first["limit"],
            )
        batch = batch.drop(index=bad)
        dropped += len(bad)
        kept.append(batch)
        n_kept += len(batch)
        logger.info(
            "environment %s: %d of %d samples after %.1f s",
            env_name, n_kept, n_samples, time.perf_counter() - sampling_start,
        )
    if n_kept < n_samples:
        raise RuntimeError(
            f"environment {env_name!r}: only {n_kept} of {n_samples} samples passed the "
            f"steady-state checks ({dropped} dropped); the polytope may be numerically thin"
        )
    samples = pd.concat(kept, ignore_index=True).iloc[:n_samples]
    samples.index.name = "sample"
    elapsed = time.perf_counter() - sampling_start
    logger.info(
        "environment %s: %d samples in %.1f s (%.1f samples/s), %d dropped; total %.1f s",
        env_name, n_samples, elapsed, n_samples / elapsed, dropped, time.perf_counter() - start,
    )
    autocorrelation = lag_one_autocorrelation(samples)
    logger.info(
        "environment %s: median lag-1 autocorrelation %.2f, effective sample size about %.0f "
        "(raise sampling.thinning for more)",
        env_name, autocorrelation, n_samples * (1 - autocorrelation) / (1 + autocorrelation),
    )
    return samples


def lag_one_autocorrelation(samples: pd.DataFrame) -> float:
    """Median lag-1 autocorrelation over the columns that vary (0 for fewer than 3 rows).

    Hit-and-run chains are correlated; n (1 - r) / (1 + r) estimates the effective number of
    independent samples.
    """
    values = samples.to_numpy(float)
    if len(values) < 3:
        return 0.0
    centred = values - values.mean(axis=0)
    variance = (centred**2).sum(axis=0)
    varying = variance > 1e-12 * np.maximum(1.0, np.abs(values).max(axis=0)) ** 2
    if not varying.any():
        return 0.0
    lagged = (centred[1:, varying] * centred[:-1, varying]).sum(axis=0) / variance[varying]
    return float(np.median(lagged))


def _make_sampler(
    model: cobra.Model, sampling: Mapping[str, Any], seed: int
) -> OptGPSampler | ACHRSampler:
    if sampling["sampler"] == "optgp":
        return OptGPSampler(
            model, thinning=int(sampling["thinning"]), processes=int(sampling["processes"]),
            seed=int(seed),
        )
    return ACHRSampler(model, thinning=int(sampling["thinning"]), seed=int(seed))


# --------------------------------------------------------------------------------------------
# The checker


def steady_state_violations(
    samples: pd.DataFrame,
    env: ThermoEnvironment,
    sampling: Mapping[str, Any],
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
    |v| > 1e-9, sign(v) dG < 0 and |dG| >= ``min_abs_dg_kJ``; with ``directionality``, the
    sign of every flux and |v| >= ``min_abs_flux`` for active reactions. Bounds and the dG
    margin are checked to 1e-9.

    Returns
    -------
    DataFrame with columns sample (index label), check, id, value, limit (empty if all pass).
    """
    model, energies, physiology = env.model, env.energies, env.physiology
    environment, env_name, biomass_reaction = env.environment, env.name, env.biomass_reaction
    z_score = env.z_score
    rt = gas_constant_times_temperature(physiology)
    constrained, _ = split_reactions(model, energies)
    lnc_bounds = ln_concentration_bounds(model, physiology, environment, env_name)
    basis = uncertainty_basis(energies, constrained)
    reactions = [r.id for r in model.reactions]
    needed = (
        [f"flux:{r}" for r in reactions]
        + [f"lnc:{m}" for m in lnc_bounds]
        + [f"dg0:{r}" for r in constrained]
        + [f"dg:{r}" for r in constrained]
        + [f"m:{c}" for c in basis.columns]
    )
    missing = [column for column in needed if column not in samples.columns]
    if missing:
        raise ValueError(
            f"environment {env_name!r}: sample table lacks {len(missing)} column(s), e.g. "
            f"{missing[:5]}"
        )
    labels = samples.index.to_numpy()
    found: list[pd.DataFrame] = []

    def report(check: str, ids: list[str], values: np.ndarray, limits, bad: np.ndarray) -> None:
        rows, columns = np.nonzero(bad)
        if len(rows):
            limits = np.broadcast_to(np.asarray(limits, dtype=float), values.shape)
            found.append(
                pd.DataFrame(
                    {
                        "sample": labels[rows],
                        "check": check,
                        "id": np.asarray(ids, dtype=object)[columns],
                        "value": values[rows, columns],
                        "limit": limits[rows, columns],
                    }
                )
            )

    fluxes = samples[[f"flux:{r}" for r in reactions]].to_numpy(float)
    stoichiometry = create_stoichiometric_matrix(model, array_type="dense")
    balance = fluxes @ stoichiometry.T
    report(
        "mass balance", [m.id for m in model.metabolites], balance, BALANCE_TOLERANCE,
        np.abs(balance) > BALANCE_TOLERANCE,
    )
    with model:
        apply_environment(model, env_name, environment)
        lower = np.array([r.lower_bound for r in model.reactions])
        upper = np.array([r.upper_bound for r in model.reactions])
    report("flux lower bound", reactions, fluxes, lower, fluxes < lower - BOUND_TOLERANCE)
    report("flux upper bound", reactions, fluxes, upper, fluxes > upper + BOUND_TOLERANCE)
    growth = fluxes[:, [reactions.index(biomass_reaction)]]
    report("growth minimum", [biomass_reaction], growth, min_growth,
           growth < min_growth - BOUND_TOLERANCE)

    lnc_ids = list(lnc_bounds)
    lnc = samples[[f"lnc:{m}" for m in lnc_ids]].to_numpy(float)
    lnc_low = np.array([lnc_bounds[m][0] for m in lnc_ids])
    lnc_high = np.array([lnc_bounds[m][1] for m in lnc_ids])
    report("ln c lower bound", lnc_ids, lnc, lnc_low, lnc < lnc_low - BOUND_TOLERANCE)
    report("ln c upper bound", lnc_ids, lnc, lnc_high, lnc > lnc_high + BOUND_TOLERANCE)

    columns = list(basis.columns)
    m = samples[[f"m:{c}" for c in columns]].to_numpy(float)
    report("uncertainty |m|", columns, np.abs(m), z_score, np.abs(m) > z_score + BOUND_TOLERANCE)
    dg0 = samples[[f"dg0:{r}" for r in constrained]].to_numpy(float)
    deviation = np.abs(dg0 - energies.mean(constrained))
    half_width = z_score * dg0_marginal_std(basis).loc[constrained].to_numpy()
    report(
        "dg0 band |dg0 - mean| <= z std", constrained, deviation, half_width,
        deviation > half_width + BAND_TOLERANCE,
    )
    expected_dg0 = energies.mean(constrained) + m @ basis.to_numpy().T
    report(
        "dg0 = mean + Q m", constrained, dg0, expected_dg0,
        np.abs(dg0 - expected_dg0) > IDENTITY_TOLERANCE,
    )
    lnc_index = {metabolite: i for i, metabolite in enumerate(lnc_ids)}
    nu = np.zeros((len(constrained), len(lnc_ids)))
    for j, reaction_id in enumerate(constrained):
        for metabolite, coefficient in model.reactions.get_by_id(reaction_id).metabolites.items():
            if metabolite.id in lnc_index:
                nu[j, lnc_index[metabolite.id]] = coefficient
    dg = samples[[f"dg:{r}" for r in constrained]].to_numpy(float)
    expected_dg = dg0 + rt * lnc @ nu.T
    report(
        "dg = dg0 + RT sum nu ln c", constrained, dg, expected_dg,
        np.abs(dg - expected_dg) > IDENTITY_TOLERANCE,
    )
    flux_of = fluxes[:, [reactions.index(r) for r in constrained]]
    active = np.abs(flux_of) > ZERO_FLUX
    report("dG sign (sign(v) dG < 0)", constrained, dg, 0.0,
           active & (np.sign(flux_of) * dg >= 0))
    margin = float(sampling["min_abs_dg_kJ"])
    report("dG margin |dG|", constrained, np.abs(dg), margin,
           active & (np.abs(dg) < margin - BOUND_TOLERANCE))

    if directionality is not None:
        profile = np.array([directionality.get(r, 0) for r in reactions])
        signs = np.where(np.abs(fluxes) > ZERO_FLUX, np.sign(fluxes), 0)
        report("direction against profile", reactions, signs, profile, signs != profile)
        min_flux = float(sampling["min_abs_flux"])
        report(
            "active |v| minimum", reactions, np.abs(fluxes), min_flux,
            (profile != 0) & (np.abs(fluxes) < min_flux - BOUND_TOLERANCE),
        )
    if not found:
        return pd.DataFrame(columns=["sample", "check", "id", "value", "limit"])
    return pd.concat(found, ignore_index=True)


def check_steady_states(
    samples: pd.DataFrame,
    env: ThermoEnvironment,
    sampling: Mapping[str, Any],
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
