"""The sampling polytope: the steady states of one directionality profile, as a cobra model.

The directionality profile of the TFA reference (:func:`kinetigen.sampling.tfa.run_tfa`) is
fixed, which drops the binaries and leaves a convex polytope in (v, ln c, m):

- S v = 0; every flux within the environment's bounds and the sign its profile gives:
  active reactions |v| >= ``min_abs_flux``, inactive ones v = 0; growth >= the minimum;
- ln c within its bounds, |m_k| <= z, and every constrained reaction's dG'0 within its own
  band |(Q m)_j| <= z sigma_j (sigma_j = ||Q_j||_2, see :mod:`kinetigen.sampling.environment`);
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
by that tolerance times the bound. :func:`physical_samples` reads a sample back: fluxes are
projected onto S v = 0 (least norm, inactive and fixed fluxes untouched), dG'0 and dG are
computed from m and ln c.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cobra
import numpy as np
import pandas as pd
from optlang.symbolics import Zero

from kinetigen.columns import DG, DG0, FLUX, LNC, UNCERTAINTY, columns
from kinetigen.network import apply_environment
from kinetigen.sampling.environment import ThermoEnvironment
from kinetigen.sampling.problem import TFAProblem

# Inward shift of the sampler's bounds: ten times cobra's feasibility tolerance (1e-7).
SAMPLER_BUFFER = 1e-6


@dataclass
class SamplingPolytope:
    """The continuous sampling model and how to read physical values back from it."""

    model: cobra.Model
    env: ThermoEnvironment
    lnc_offset: np.ndarray  # ln c = LnC pseudo-flux + offset (metabolites of env.lnc_bounds)
    m_offset: float  # m = M pseudo-flux - m_offset
    free_reactions: np.ndarray  # indices of fluxes the S v = 0 projection may move
    balance_projector: np.ndarray  # pinv(S[:, free])

    @property
    def reactions(self) -> list[str]:
        """Every real reaction, model order."""
        return [r.id for r in self.env.model.reactions]


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
    problem: TFAProblem,
    directionality: Mapping[str, int],
    min_growth: float,
    min_abs_dg_kJ: float,
    min_abs_flux: float,
) -> SamplingPolytope:
    """Continuous cobra model of the steady states with the profile ``directionality`` fixed.

    ``problem`` is the TFA problem of the environment (its ``env`` supplies the network,
    the constrained reactions, ln c bounds and basis; its dG bounds the dG pseudo-fluxes).
    """
    env = problem.env
    continuous = _profile_network(env, directionality, min_growth, min_abs_flux)
    lnc_offset, m_low = _add_state_reactions(continuous, env)
    margin = max(float(min_abs_dg_kJ), problem.settings.epsilon_kJ) + SAMPLER_BUFFER
    _add_energy_rows(continuous, problem, directionality, lnc_offset, m_low, margin)
    continuous.objective = Zero
    free = _free_fluxes(continuous, env, directionality)
    return SamplingPolytope(
        model=continuous,
        env=env,
        lnc_offset=lnc_offset,
        m_offset=-m_low,
        free_reactions=free,
        balance_projector=np.linalg.pinv(env.stoichiometry[:, free]),
    )


def _profile_network(
    env: ThermoEnvironment,
    directionality: Mapping[str, int],
    min_growth: float,
    min_abs_flux: float,
) -> cobra.Model:
    """The network in the environment with every flux held to its sign in the profile."""
    continuous = _fresh_copy(env.model)
    apply_environment(continuous, env.name, env.environment)
    reactions = [r.id for r in continuous.reactions]
    unknown = sorted(set(directionality) - set(reactions))
    missing = sorted(set(reactions) - set(directionality))
    if unknown or missing:
        raise ValueError(
            f"environment {env.name!r}: directionality profile does not match the model "
            f"(unknown reactions {unknown[:5]}, missing reactions {missing[:5]})"
        )
    for reaction in continuous.reactions:
        sign = directionality[reaction.id]
        low, high = reaction.bounds
        if sign not in (-1, 0, 1):
            raise ValueError(
                f"environment {env.name!r}: directionality of {reaction.id} must be -1, 0 or "
                f"1, got {sign!r}"
            )
        if sign == 1:
            low = max(low, min_abs_flux)
        elif sign == -1:
            high = min(high, -min_abs_flux)
        elif low > 0 or high < 0:
            raise ValueError(
                f"environment {env.name!r}: directionality says {reaction.id} carries no flux, "
                f"but its bounds are [{low}, {high}]"
            )
        else:
            low = high = 0.0
        if reaction.id == env.biomass_reaction:
            low = max(low, min_growth)
        if low > high:
            raise ValueError(
                f"environment {env.name!r}: reaction {reaction.id} cannot carry flux of sign "
                f"{sign} with |v| >= {min_abs_flux} within its bounds {reaction.bounds}"
            )
        reaction.bounds = _shrink(low, high, SAMPLER_BUFFER)
    return continuous


def _add_state_reactions(
    continuous: cobra.Model, env: ThermoEnvironment
) -> tuple[np.ndarray, float]:
    """The pseudo-reactions ``LnC_<met>`` and ``M_<k>``; returns the ln c offsets and the
    lower end of m (both shrunk by the buffer)."""
    lnc_ids = list(env.lnc_bounds)
    lnc_offset = np.empty(len(lnc_ids))
    pseudo = []
    for i, metabolite_id in enumerate(lnc_ids):
        low, high = _shrink(*env.lnc_bounds[metabolite_id], SAMPLER_BUFFER)
        lnc_offset[i] = low
        pseudo.append(_pseudo_reaction(f"LnC_{metabolite_id}", high - low))
    m_low, m_high = _shrink(-env.z_score, env.z_score, SAMPLER_BUFFER)
    pseudo += [_pseudo_reaction(f"M_{column}", m_high - m_low) for column in env.basis.columns]
    pseudo_ids = {r.id for r in pseudo} | {f"DG_{r}" for r in env.constrained}
    clashes = sorted({r.id for r in continuous.reactions} & pseudo_ids)
    if clashes:
        raise ValueError(f"model reaction ids clash with sampling variable names: {clashes}")
    continuous.add_reactions(pseudo)
    return lnc_offset, m_low


def _add_energy_rows(
    continuous: cobra.Model,
    problem: TFAProblem,
    directionality: Mapping[str, int],
    lnc_offset: np.ndarray,
    m_low: float,
    margin: float,
) -> None:
    """The dG pseudo-reactions of active constrained reactions, the dG'0 bands and the rows
    that define each dG from (m, ln c)."""
    env = problem.env
    constrained, nu, q = env.constrained, env.lnc_stoichiometry, env.basis.to_numpy()
    # dG with every pseudo-flux at 0, i.e. m = m_low and ln c = its offset
    dg0_mean = env.dg0_mean.loc[constrained].to_numpy(float)
    dg_at_origin = dg0_mean + q.sum(axis=1) * m_low + env.rt * nu @ lnc_offset
    active = [r for r in constrained if directionality[r] != 0]
    headroom = {}
    for reaction_id in active:
        low, high = problem.dg_bounds[reaction_id]
        # largest distance from the margin that the box of (m, ln c) allows
        headroom[reaction_id] = (-low if directionality[reaction_id] > 0 else high) - margin
    continuous.add_reactions([_pseudo_reaction(f"DG_{r}", headroom[r]) for r in active])
    variable = {r.id: r.forward_variable for r in continuous.reactions}
    lnc_variables = [variable[f"LnC_{m}"] for m in env.lnc_bounds]
    m_variables = [variable[f"M_{c}"] for c in env.basis.columns]
    constraints, coefficients = [], {}
    # dG'0 bands: (Q m)_j = (Q M)_j + m_low sum_k Q_jk, so |(Q m)_j| <= z sigma_j reads
    # -z sigma_j - c_j <= (Q M)_j <= z sigma_j - c_j with c_j = m_low sum_k Q_jk. The samplers
    # stop at (1 - tolerance) x each row bound, which for a positive lower (negative upper)
    # bound lies outside it: the extra relative shrink covers that.
    centre = m_low * q.sum(axis=1)
    for j, reaction_id in enumerate(constrained):
        half_width = env.z_score * float(env.dg0_std[reaction_id])
        if half_width == 0.0:
            continue
        low, high = _shrink(
            -half_width - centre[j], half_width - centre[j], SAMPLER_BUFFER, continuous.tolerance
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
        terms.update({lnc_variables[i]: env.rt * float(nu[j, i]) for i in np.flatnonzero(nu[j])})
        terms[variable[f"DG_{reaction_id}"]] = float(sign)
        constraints.append(constraint)
        coefficients[constraint] = terms
    continuous.add_cons_vars(constraints)
    continuous.solver.update()
    for constraint, terms in coefficients.items():
        constraint.set_linear_coefficients(terms)


def _free_fluxes(
    continuous: cobra.Model, env: ThermoEnvironment, directionality: Mapping[str, int]
) -> np.ndarray:
    """Indices of the fluxes that the S v = 0 projection may move (active, not fixed)."""
    fixed = np.array(
        [
            directionality[r.id] == 0
            or continuous.reactions.get_by_id(r.id).upper_bound
            - continuous.reactions.get_by_id(r.id).lower_bound
            <= 0
            for r in env.model.reactions
        ]
    )
    return np.flatnonzero(~fixed)


def physical_samples(polytope: SamplingPolytope, raw: pd.DataFrame) -> pd.DataFrame:
    """Sample table in physical units (columns of :mod:`kinetigen.columns`) from the
    sampler's variable values."""
    model, env = polytope.model, polytope.env

    def net(reaction_id: str) -> np.ndarray:
        reaction = model.reactions.get_by_id(reaction_id)
        return (
            raw[reaction.forward_variable.name].to_numpy()
            - raw[reaction.reverse_variable.name].to_numpy()
        )

    reactions = polytope.reactions
    fluxes = np.column_stack([net(r) for r in reactions])
    # least-norm correction of the sampler's round-off in S v = 0, on free fluxes only
    residual = fluxes @ env.stoichiometry.T
    fluxes[:, polytope.free_reactions] -= residual @ polytope.balance_projector.T
    lnc = np.column_stack([net(f"LnC_{m}") for m in env.lnc_bounds]) + polytope.lnc_offset
    m = np.column_stack([net(f"M_{c}") for c in env.basis.columns]) - polytope.m_offset
    dg0 = env.dg0_mean.loc[env.constrained].to_numpy(float) + m @ env.basis.to_numpy().T
    dg = dg0 + env.rt * lnc @ env.lnc_stoichiometry.T
    blocks = [
        pd.DataFrame(fluxes, columns=columns(FLUX, reactions)),
        pd.DataFrame(lnc, columns=columns(LNC, env.lnc_bounds)),
        pd.DataFrame(dg0, columns=columns(DG0, env.constrained)),
        pd.DataFrame(dg, columns=columns(DG, env.constrained)),
        pd.DataFrame(m, columns=columns(UNCERTAINTY, env.basis.columns)),
    ]
    return pd.concat(blocks, axis=1)
