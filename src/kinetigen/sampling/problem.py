"""The TFA MILP of one environment (DESIGN.md 2.2), built on a copy of its network.

For every thermodynamically constrained reaction j with net flux v_j = F_j - R_j (cobra's
forward and reverse variables):

    DG_j = dg0_mean_j + sum_k Q_jk M_k + RT sum_i nu_ij LnC_i        (kJ/mol)
    |M_k| <= z,   |sum_k Q_jk M_k| <= z sigma_j,   sigma_j = sqrt(sum_k Q_jk^2)
    DG_j + M FU_j <= M - eps,   -DG_j + M BU_j <= M - eps,   FU_j + BU_j <= 1
    F_j <= ub_j FU_j,           R_j <= -lb_j BU_j

with ``LnC_i`` the natural log of metabolite i's concentration in mol/L (every metabolite except
H+ and H2O, whose activities the Legendre transform already holds fixed), bounded by its
compartment's range in ``physiology`` unless the environment names it; ``M_k`` the coordinates
of dG'0 in the square root Q of its covariance and the band ``DG0band_<reaction>`` (see
:mod:`kinetigen.sampling.environment`); FU/BU binaries that allow forward (backward) flux
only with a negative (positive) dG.

Transport reactions need no extra term: their dG'0 already holds the pH difference and
membrane potential, and the sum runs over the metabolites of both compartments.

Loops: a flux cycle with no net conversion would need dG < 0 along each of its reactions, but
over a cycle the concentration terms cancel and eQuilibrator's dG'0 (formation energies, one
shared m) sum to zero, so no such cycle of constrained reactions can carry flux.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cobra
import pandas as pd
from optlang.interface import OPTIMAL
from optlang.symbolics import Zero

from kinetigen.sampling.environment import ThermoEnvironment
from kinetigen.sampling.solver import HighsMILP, Solution, is_highs
from kinetigen.settings import TFASettings

logger = logging.getLogger(__name__)


@dataclass
class TFAProblem:
    """A cobra model copy holding the TFA MILP, with handles to its added variables.

    ``model`` carries the environment's reaction bounds; ``env`` is the environment (its
    constrained reactions, ln c bounds, basis and bands) and ``settings`` the ``tfa``
    settings (big M, epsilon). All names are readable in LP dumps: ``LnC_<metabolite>``,
    ``DG_<reaction>``, ``FU_<reaction>``, ``BU_<reaction>``, ``M_<basis column>``, and the
    constraints ``DG0band_<reaction>`` (|Q_j m| <= z sigma_j, in ``dg0_band``; reactions with
    sigma_j > 0). With ``relaxed`` set, the MILP also holds non-negative slacks
    ``SDGp_/SDGn_<reaction>`` on dG'0 and ``SLnClo_/SLnCup_<metabolite>`` on ln c bounds.
    """

    model: cobra.Model
    env: ThermoEnvironment
    settings: TFASettings
    lnc: dict[str, Any] = field(default_factory=dict)
    dg: dict[str, Any] = field(default_factory=dict)
    forward_use: dict[str, Any] = field(default_factory=dict)
    backward_use: dict[str, Any] = field(default_factory=dict)
    uncertainty: dict[str, Any] = field(default_factory=dict)
    dg0_band: dict[str, Any] = field(default_factory=dict)  # reaction -> DG0band_ constraint
    big_m_of: dict[str, float] = field(default_factory=dict)  # per-reaction big M (kJ/mol)
    dg_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)  # of DG_<rxn>
    direction_constraints: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    dg0_slack: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # (up, down)
    lnc_slack: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # (lower, upper)

    @property
    def relaxed(self) -> bool:
        return bool(self.dg0_slack)

    def flux_coefficients(self, reaction_id: str) -> dict[Any, float]:
        """Objective coefficients of a reaction's net flux."""
        reaction = self.model.reactions.get_by_id(reaction_id)
        return {reaction.forward_variable: 1.0, reaction.reverse_variable: -1.0}

    def total_flux_coefficients(self) -> dict[Any, float]:
        """Objective coefficients of the sum of forward + reverse fluxes of all reactions."""
        return {
            variable: 1.0
            for reaction in self.model.reactions
            for variable in (reaction.forward_variable, reaction.reverse_variable)
        }

    def optimize(self, coefficients: Mapping[Any, float], direction: str) -> Solution:
        """Optimise a linear objective over the current MILP (constraints as they stand now).

        With cobra's "hybrid" solver the MILP goes straight to HiGHS (see
        :class:`~kinetigen.sampling.solver.HighsMILP`); with any other optlang solver (e.g.
        GLPK), through optlang.
        """
        if is_highs(self.model):
            return HighsMILP(self.model).optimize(coefficients, direction)
        with self.model:
            objective = self.model.problem.Objective(Zero, direction=direction)
            self.model.objective = objective
            objective.set_linear_coefficients(dict(coefficients))
            self.model.slim_optimize()
            status = str(self.model.solver.status)
            if status != OPTIMAL:
                return Solution(status, math.nan, {})
            return Solution(
                status,
                float(self.model.solver.objective.value),
                dict(self.model.solver.primal_values),
            )

    def net_fluxes(self, values: Mapping[str, float]) -> pd.Series:
        """Net flux of every reaction (mmol/gDW/h) from a solution's variable values."""
        return pd.Series(
            {
                r.id: values[r.forward_variable.name] - values[r.reverse_variable.name]
                for r in self.model.reactions
            },
            name="flux",
        )


def build_tfa_problem(
    env: ThermoEnvironment, tfa: TFASettings | Mapping[str, Any], *, relaxed: bool = False
) -> TFAProblem:
    """Copy the network, apply the environment and add the TFA variables and constraints.

    ``env.model`` is left untouched; ``tfa`` is the ``tfa`` settings (or config section).
    With ``relaxed``, ln c bounds and dG'0 get non-negative slack variables (the relaxation
    MILP of :mod:`kinetigen.sampling.relaxation`); the slacks shift dG'0 beyond the box and
    the band, which stay as they are around the mean.
    """
    problem = TFAProblem(model=env.network_copy(), env=env, settings=TFASettings.coerce(tfa))
    problem.big_m_of, problem.dg_bounds = _reaction_big_m(problem, relaxed)
    rows = _Rows()
    _add_concentrations(problem, rows, relaxed)
    _add_uncertainty(problem, rows)
    for reaction_id in env.constrained:
        _add_directionality(problem, rows, reaction_id, relaxed)
    model = problem.model
    model.add_cons_vars(rows.variables + rows.constraints)
    model.solver.update()
    for constraint, terms in rows.coefficients.items():
        constraint.set_linear_coefficients(terms)
    model.solver.update()
    return problem


@dataclass
class _Rows:
    """What the builder steps add, in order: variables, constraints and their coefficients
    (set once every variable is in the model)."""

    variables: list[Any] = field(default_factory=list)
    constraints: list[Any] = field(default_factory=list)
    coefficients: dict[Any, dict[Any, float]] = field(default_factory=dict)


def _add_concentrations(problem: TFAProblem, rows: _Rows, relaxed: bool) -> None:
    """``LnC_<metabolite>`` within its bounds (soft bounds with slacks when relaxed)."""
    interface = problem.model.problem
    for metabolite_id, (low, high) in problem.env.lnc_bounds.items():
        if relaxed:  # the bounds become soft constraints
            variable = interface.Variable(f"LnC_{metabolite_id}", lb=None, ub=None)
            lower_slack = interface.Variable(f"SLnClo_{metabolite_id}", lb=0)
            upper_slack = interface.Variable(f"SLnCup_{metabolite_id}", lb=0)
            problem.lnc_slack[metabolite_id] = (lower_slack, upper_slack)
            lower = interface.Constraint(Zero, lb=low, name=f"LnClo_{metabolite_id}")
            upper = interface.Constraint(Zero, ub=high, name=f"LnCup_{metabolite_id}")
            rows.coefficients[lower] = {variable: 1.0, lower_slack: 1.0}
            rows.coefficients[upper] = {variable: 1.0, upper_slack: -1.0}
            rows.variables += [lower_slack, upper_slack]
            rows.constraints += [lower, upper]
        else:
            variable = interface.Variable(f"LnC_{metabolite_id}", lb=low, ub=high)
        problem.lnc[metabolite_id] = variable
        rows.variables.append(variable)


def _add_uncertainty(problem: TFAProblem, rows: _Rows) -> None:
    """``M_<axis>`` in [-z, z] and the band ``DG0band_<reaction>`` of each uncertain dG'0."""
    interface = problem.model.problem
    env, z = problem.env, problem.env.z_score
    for column in env.basis.columns:
        variable = interface.Variable(f"M_{column}", lb=-z, ub=z)
        problem.uncertainty[column] = variable
        rows.variables.append(variable)
    for reaction_id in env.constrained:
        half_width = z * float(env.dg0_std[reaction_id])
        if half_width == 0.0:
            continue  # no uncertainty: dG'0 is the mean
        band = interface.Constraint(
            Zero, lb=-half_width, ub=half_width, name=f"DG0band_{reaction_id}"
        )
        rows.coefficients[band] = {
            problem.uncertainty[column]: float(value)
            for column, value in env.basis.loc[reaction_id].items()
            if value != 0.0
        }
        problem.dg0_band[reaction_id] = band
        rows.constraints.append(band)


def _add_directionality(problem: TFAProblem, rows: _Rows, reaction_id: str, relaxed: bool) -> None:
    """``DG_<reaction>`` with its definition, the binaries ``FU``/``BU`` and the big-M rows
    that tie the flux direction to the sign of dG."""
    model, env = problem.model, problem.env
    interface = model.problem
    eps = problem.settings.epsilon_kJ
    reaction = model.reactions.get_by_id(reaction_id)
    big_m = problem.big_m_of[reaction_id]
    dg_low, dg_high = problem.dg_bounds[reaction_id]
    dg = interface.Variable(f"DG_{reaction_id}", lb=dg_low, ub=dg_high)
    forward_use = interface.Variable(f"FU_{reaction_id}", type="binary")
    backward_use = interface.Variable(f"BU_{reaction_id}", type="binary")
    problem.dg[reaction_id] = dg
    problem.forward_use[reaction_id] = forward_use
    problem.backward_use[reaction_id] = backward_use
    rows.variables += [dg, forward_use, backward_use]

    mean = env.dg0_mean[reaction_id]
    definition = interface.Constraint(Zero, lb=mean, ub=mean, name=f"DGdef_{reaction_id}")
    terms = {dg: 1.0}
    for column, value in env.basis.loc[reaction_id].items():
        if value != 0.0:
            terms[problem.uncertainty[column]] = -float(value)
    for metabolite_id, nu in env.terms[reaction_id].items():
        terms[problem.lnc[metabolite_id]] = -env.rt * nu
    if relaxed:
        up = interface.Variable(f"SDGp_{reaction_id}", lb=0)
        down = interface.Variable(f"SDGn_{reaction_id}", lb=0)
        problem.dg0_slack[reaction_id] = (up, down)
        rows.variables += [up, down]
        terms[up], terms[down] = -1.0, 1.0
    rows.coefficients[definition] = terms

    forward_sign = interface.Constraint(Zero, ub=big_m - eps, name=f"FUdG_{reaction_id}")
    backward_sign = interface.Constraint(Zero, ub=big_m - eps, name=f"BUdG_{reaction_id}")
    rows.coefficients[forward_sign] = {dg: 1.0, forward_use: big_m}
    rows.coefficients[backward_sign] = {dg: -1.0, backward_use: big_m}
    problem.direction_constraints[reaction_id] = (forward_sign, backward_sign)
    exclusive = interface.Constraint(Zero, ub=1, name=f"UseOnce_{reaction_id}")
    rows.coefficients[exclusive] = {forward_use: 1.0, backward_use: 1.0}
    forward_flux = interface.Constraint(Zero, ub=0, name=f"FUflux_{reaction_id}")
    rows.coefficients[forward_flux] = {
        reaction.forward_variable: 1.0,
        forward_use: -max(reaction.upper_bound, 0.0),
    }
    backward_flux = interface.Constraint(Zero, ub=0, name=f"BUflux_{reaction_id}")
    rows.coefficients[backward_flux] = {
        reaction.reverse_variable: 1.0,
        backward_use: -max(-reaction.lower_bound, 0.0),
    }
    rows.constraints += [definition, forward_sign, backward_sign, exclusive]
    rows.constraints += [forward_flux, backward_flux]


def dg_box_bounds(env: ThermoEnvironment) -> dict[str, tuple[float, float]]:
    """Smallest and largest dG (kJ/mol) of each constrained reaction over the region of m, ln c.

    dG'0 spans mean +- z sigma_j: the band is never wider than the box (||Q_j||_2 <=
    ||Q_j||_1), and m = z Q_j^T / ||Q_j||_2 reaches its ends inside the box. ln c spans its
    bounds independently, so these are the attainable extremes.
    """
    bounds = {}
    for reaction_id in env.constrained:
        spread = env.z_score * float(env.dg0_std[reaction_id])
        low = high = float(env.dg0_mean[reaction_id])
        for metabolite_id, nu in env.terms[reaction_id].items():
            ends = [env.rt * nu * end for end in env.lnc_bounds[metabolite_id]]
            low, high = low + min(ends), high + max(ends)
        bounds[reaction_id] = (low - spread, high + spread)
    return bounds


def _reaction_big_m(
    problem: TFAProblem, relaxed: bool
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Big M and DG bounds per reaction: the box of possible dG, M just above its largest |dG|.

    A big M no larger than needed tightens the LP relaxation, and DG bounds equal to the
    reachable extremes let variability skip a MILP once a solution attains them. Both are
    capped by tfa.big_m_kJ. The relaxation MILP moves dG'0 and ln c beyond their boxes, so it
    keeps the configured value.
    """
    configured, constrained = problem.settings.big_m_kJ, problem.env.constrained
    if relaxed:
        return (
            {r: configured for r in constrained},
            {r: (-configured, configured) for r in constrained},
        )
    big_m, bounds = {}, {}
    for reaction_id, (low, high) in dg_box_bounds(problem.env).items():
        needed = max(abs(low), abs(high)) + problem.settings.epsilon_kJ
        if needed > configured:
            logger.warning(
                "environment %s: |dG| of %s can reach %.0f kJ/mol, beyond tfa.big_m_kJ = %g; "
                "raise big_m_kJ or TFA cuts off feasible states",
                problem.env.name, reaction_id, needed, configured,
            )
        # the small pad keeps solver round-off from cutting off the corners of the box
        big_m[reaction_id] = min(configured, needed * (1 + 1e-6) + 1e-6)
        bounds[reaction_id] = (max(low, -configured), min(high, configured))
    return big_m, bounds


def maximize_growth(problem: TFAProblem) -> tuple[str, float]:
    """(status, growth in 1/h) of the TFA growth optimum; growth is nan unless optimal."""
    solution = problem.optimize(problem.flux_coefficients(problem.env.biomass_reaction), "max")
    return solution.status, solution.objective
