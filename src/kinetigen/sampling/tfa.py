"""Thermodynamics-based flux analysis (TFA) on a cobra/optlang model.

Formulation (DESIGN.md 2.2). For every thermodynamically constrained reaction j with net flux
v_j = F_j - R_j (cobra's forward and reverse variables):

    DG_j = dg0_mean_j + sum_k Q_jk M_k + RT sum_i nu_ij LnC_i        (kJ/mol)
    |M_k| <= z,   |sum_k Q_jk M_k| <= z sigma_j,   sigma_j = sqrt(sum_k Q_jk^2)
    DG_j + M FU_j <= M - eps,   -DG_j + M BU_j <= M - eps,   FU_j + BU_j <= 1
    F_j <= ub_j FU_j,           R_j <= -lb_j BU_j

with ``LnC_i`` the natural log of metabolite i's concentration in mol/L (every metabolite except
H+ and H2O, whose activities the Legendre transform already holds fixed), bounded by its
compartment's range in ``physiology`` unless the environment names it; ``M_k`` the coordinates
of dG'0 in a square root Q of its covariance; FU/BU binaries that allow forward (backward) flux
only with a negative (positive) dG.

Which square root: eQuilibrator's "sqrt" form (``ReactionEnergies.sqrt_cov``) has one column per
group and compound of its training set (481 live columns for e_coli_core, rank 43). The box
|m| <= z in that basis lets a single dG'0 move by z ||Q_j||_1, a median 7.8 (up to 12.6) times
its own z sigma_j (FRD7: +-141 kJ/mol for sigma = 6.5). :func:`uncertainty_basis` therefore
uses the full-rank square root with the same covariance, Q_r = U_r S_r from the SVD of Q
(principal axes, one column per independent direction): the box then spans a median 2.7 (at
most 4.5) z sigma_j per reaction, and the MILP and the sampler get 43 instead of 481 columns.

The dG'0 region: the box alone still lets a reaction's dG'0 leave its own marginal interval
(sampled e_coli_core tables reached 5.2 sigma_j, and four samples in five had some reaction
beyond z sigma_j). So, as pyTFA bounds each reaction's dG'0 individually, every
constrained reaction also gets the band ``DG0band_<reaction>``: |dG'0_j - mean_j| <= z sigma_j
with sigma_j = ||Q_j||_2, the marginal standard deviation of the basis (equal to eQuilibrator's
``dg0_std_kJ``: the compression keeps the covariance; :func:`dg0_marginal_std`). The region is
the intersection of the two: each dG'0 within its own z sigma interval, and the dG'0 jointly
within the box of the correlated basis, which keeps their correlations (reactions that share
compounds move together). Reactions with sigma_j = 0
(certain transports) need no band: their dG'0 is the mean already.

Transport reactions need no extra term: their dG'0 already holds the pH difference and
membrane potential, and the sum runs over the metabolites of both compartments.

Loops: a flux cycle with no net conversion would need dG < 0 along each of its reactions, but
over a cycle the concentration terms cancel and eQuilibrator's dG'0 (formation energies, one
shared m) sum to zero, so no such cycle of constrained reactions can carry flux.

Reactions without thermodynamic data keep their flux bounds only and are listed with the
reason. So is a reaction whose dG is identically zero (H2O transport: dG'0 = 0, no
concentration term), which the eps margin would otherwise block although cells move water.

Reference solution and directionality profile (``tfa["directionality"]``):

- ``min_total_flux`` (default): with growth >= ``min_growth_fraction`` x TFA optimum, minimise
  the sum of forward + reverse fluxes of every reaction in the TFA MILP. This is the
  parsimonious, loop-free physiology that pFBA would give, and it is unique far more often
  than a bare growth optimum.
- ``max_growth``: the TFA growth optimum itself (whatever vertex the solver returns).

The profile maps every reaction to +1 (net flux >= 1e-9), -1 (<= -1e-9) or 0. When the
sampling margins are passed to :func:`run_tfa`, the reference also honours them (|dG| >=
``min_abs_dg_kJ`` and |v| >= ``min_abs_flux`` for active constrained reactions), so the
profile is guaranteed to leave a non-empty polytope to sample.

Infeasible environments: FBA infeasible (or no growth) raises
:class:`kinetigen.network.InvalidEnvironment`; TFA infeasible (or no growth although FBA grows)
raises :class:`kinetigen.sampling.relaxation.InfeasibleTFA` carrying the smallest relaxation
of dG'0 and concentration bounds that restores growth. Its slacks shift dG'0 means: the box
and the band move with the mean (as :func:`~kinetigen.sampling.relaxation.apply_relaxation`
keeps each reaction's uncertainty), so a slack measures how far dG'0 must leave its band.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cobra
import numpy as np
import pandas as pd
from optlang.interface import OPTIMAL
from optlang.symbolics import Zero

from kinetigen.network import apply_environment, fba_growth, is_water_or_proton, load_network
from kinetigen.thermo.energies import ReactionEnergies

logger = logging.getLogger(__name__)

GAS_CONSTANT_KJ_PER_MOL_K = 8.314462618e-3
# |net flux| below this counts as no flux in the reference profile (mmol/gDW/h).
ZERO_FLUX = 1e-9
# Entries of the uncertainty basis below this (kJ/mol) are round-off.
NEGLIGIBLE_KJ = 1e-9
# A reaction without concentration terms whose dG'0 is certain and this close to zero has an
# identically zero dG (water transport); the eps margin would block it.
IDENTICALLY_ZERO_DG_KJ = 1e-6
# Growth at or below this (1/h) means the environment cannot grow.
NO_GROWTH = 1e-9
DIRECTIONALITY_MODES = ("min_total_flux", "max_growth")


def gas_constant_times_temperature(physiology: Mapping[str, Any]) -> float:
    """RT in kJ/mol at ``physiology["temperature_K"]``."""
    temperature = physiology.get("temperature_K")
    if not isinstance(temperature, int | float) or temperature <= 0:
        raise ValueError(
            f"config key 'physiology.temperature_K' must be a positive number, got {temperature!r}"
        )
    return GAS_CONSTANT_KJ_PER_MOL_K * float(temperature)


def validate_tfa_config(tfa: Mapping[str, Any], z_score: float) -> None:
    """Raise a ValueError naming the config key of a bad TFA setting."""
    for key in ("big_m_kJ", "epsilon_kJ", "min_growth_fraction", "directionality"):
        if key not in tfa:
            raise ValueError(f"config key 'tfa.{key}' is missing")
    big_m, eps = tfa["big_m_kJ"], tfa["epsilon_kJ"]
    if not isinstance(big_m, int | float) or big_m <= 0:
        raise ValueError(f"config key 'tfa.big_m_kJ' must be positive, got {big_m!r}")
    if not isinstance(eps, int | float) or not 0 < eps < big_m:
        raise ValueError(f"config key 'tfa.epsilon_kJ' must lie in (0, big_m_kJ), got {eps!r}")
    fraction = tfa["min_growth_fraction"]
    if not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise ValueError(
            f"config key 'tfa.min_growth_fraction' must lie in (0, 1], got {fraction!r}"
        )
    if tfa["directionality"] not in DIRECTIONALITY_MODES:
        raise ValueError(
            f"config key 'tfa.directionality' must be one of {DIRECTIONALITY_MODES}, "
            f"got {tfa['directionality']!r}"
        )
    if not isinstance(z_score, int | float) or z_score <= 0:
        raise ValueError(f"config key 'thermo.z_score' must be positive, got {z_score!r}")


def thermodynamic_stoichiometry(reaction: cobra.Reaction) -> dict[str, float]:
    """{metabolite id: coefficient} of the ln-concentration sum (H+ and H2O left out)."""
    return {
        metabolite.id: float(coefficient)
        for metabolite, coefficient in reaction.metabolites.items()
        if not is_water_or_proton(metabolite)
    }


def ln_concentration_bounds(
    model: cobra.Model,
    physiology: Mapping[str, Any],
    environment: Mapping[str, Any],
    env_name: str,
) -> dict[str, tuple[float, float]]:
    """Bounds of ln(c / (mol/L)) for every metabolite except H+ and H2O.

    Compartment ranges come from ``physiology["compartments"][c]["concentration_M"]``; an
    environment's ``concentrations`` entry (mol/L, low == high fixes it) overrides them.
    """
    compartments = physiology.get("compartments") or {}
    bounds: dict[str, tuple[float, float]] = {}
    for metabolite in model.metabolites:
        if is_water_or_proton(metabolite):
            continue
        if metabolite.compartment not in compartments:
            raise ValueError(
                f"config key 'physiology.compartments' lacks compartment "
                f"{metabolite.compartment!r} of metabolite {metabolite.id}"
            )
        low, high = compartments[metabolite.compartment]["concentration_M"]
        if not 0 < low <= high:
            raise ValueError(
                f"config key 'physiology.compartments.{metabolite.compartment}.concentration_M' "
                f"needs 0 < low <= high, got [{low}, {high}]"
            )
        bounds[metabolite.id] = (math.log(low), math.log(high))
    for metabolite_id, (low, high) in (environment.get("concentrations") or {}).items():
        if metabolite_id not in model.metabolites:
            raise ValueError(
                f"environment {env_name!r}, concentrations: unknown metabolite id "
                f"{metabolite_id!r}"
            )
        if metabolite_id not in bounds:
            raise ValueError(
                f"environment {env_name!r}, concentrations: {metabolite_id} is H+ or H2O, "
                "whose activity TFA holds fixed (set pH in physiology instead)"
            )
        if not 0 < low <= high:
            raise ValueError(
                f"environment {env_name!r}, concentrations: {metabolite_id} needs "
                f"0 < low <= high, got [{low}, {high}]"
            )
        bounds[metabolite_id] = (math.log(low), math.log(high))
    return bounds


def split_reactions(
    model: cobra.Model, energies: ReactionEnergies
) -> tuple[list[str], dict[str, str]]:
    """Constrained reaction ids (model order) and {unconstrained id: reason}."""
    table = energies.table
    foreign = sorted(set(energies.constrained) - {r.id for r in model.reactions})
    if foreign:
        raise ValueError(
            f"reaction energies hold constrained reactions the model lacks: {foreign[:10]}"
        )
    constrained: list[str] = []
    unconstrained: dict[str, str] = {}
    for reaction in model.reactions:
        if reaction.id not in table.index:
            unconstrained[reaction.id] = "no entry in the reaction energies"
            continue
        row = table.loc[reaction.id]
        if not bool(row["constrained"]):
            unconstrained[reaction.id] = str(row["reason"]) or "unconstrained in the energies"
            continue
        if not np.isfinite(row["dg0_mean_kJ"]):
            raise ValueError(f"reaction energies: constrained reaction {reaction.id} has no dG'0")
        if (
            not thermodynamic_stoichiometry(reaction)
            and row["dg0_std_kJ"] == 0
            and abs(row["dg0_mean_kJ"]) < IDENTICALLY_ZERO_DG_KJ
        ):
            unconstrained[reaction.id] = (
                "dG is identically zero (only H2O/H+, whose activities are fixed)"
            )
            continue
        constrained.append(reaction.id)
    return constrained, unconstrained


def dg0_marginal_std(basis: pd.DataFrame) -> pd.Series:
    """Marginal standard deviation of each reaction's dG'0 (kJ/mol): sigma_j = ||Q_j||_2.

    The diagonal of Q Q^T, i.e. eQuilibrator's ``dg0_std_kJ`` up to round-off, since
    :func:`uncertainty_basis` keeps the covariance; computed from ``basis`` so that the band
    |Q_j m| <= z sigma_j is consistent with the basis it constrains.
    """
    values = np.sqrt(np.square(basis.to_numpy(float)).sum(axis=1))
    return pd.Series(values, index=basis.index, name="dg0_std_kJ")


def uncertainty_basis(energies: ReactionEnergies, constrained: list[str]) -> pd.DataFrame:
    """Full-rank square root of the dG'0 covariance of ``constrained`` (kJ/mol).

    Q_r = U_r S_r from the SVD of ``energies.sqrt_cov`` (rows ``constrained``), so
    Q_r Q_r^T equals the covariance; columns ``pc0, pc1, ...`` are its principal axes by
    decreasing spread, each signed so that its largest entry is positive (a deterministic
    choice). See the module docstring for why not the raw eQuilibrator basis.
    """
    missing = sorted(set(constrained) - set(energies.sqrt_cov.index))
    if missing:
        raise ValueError(f"reaction energies: no uncertainty row for {missing[:10]}")
    raw = energies.sqrt_cov.loc[constrained].to_numpy(float)
    if raw.size == 0:
        return pd.DataFrame(index=pd.Index(constrained, name="reaction"))
    left, singular, _ = np.linalg.svd(raw, full_matrices=False)
    rank = int((singular > singular[0] * max(raw.shape) * np.finfo(float).eps).sum())
    basis = left[:, :rank] * singular[:rank]
    largest = basis[np.abs(basis).argmax(axis=0), np.arange(rank)]
    basis *= np.where(largest < 0, -1.0, 1.0)
    # SVD round-off (1e-16 where a row is exactly zero, e.g. certain transports) would give
    # the solvers badly scaled rows; below 1e-9 kJ/mol nothing physical is lost.
    basis[np.abs(basis) < NEGLIGIBLE_KJ] = 0.0
    return pd.DataFrame(
        basis,
        index=pd.Index(constrained, name="reaction"),
        columns=[f"pc{k}" for k in range(rank)],
    )


@dataclass(frozen=True)
class ThermoEnvironment:
    """One environment as the thermodynamic stage sees it (TFA, relaxation, sampling, checks).

    ``model`` is the network, never modified: each step applies the environment's bounds to
    a copy. ``physiology`` is that config section, ``environment`` the environment's config
    entry and ``name`` its name (in every error message), ``z_score`` is ``thermo.z_score``.
    """

    model: cobra.Model
    energies: ReactionEnergies
    physiology: Mapping[str, Any]
    environment: Mapping[str, Any]
    name: str
    biomass_reaction: str
    z_score: float

    @classmethod
    def from_config(
        cls,
        model: cobra.Model,
        energies: ReactionEnergies,
        config: Mapping[str, Any],
        name: str,
        environment: Mapping[str, Any] | None = None,
    ) -> ThermoEnvironment:
        """Environment ``name`` of a whole workflow config (its entry unless ``environment``
        is given)."""
        return cls(
            model=model,
            energies=energies,
            physiology=config["physiology"],
            environment=config["environments"][name] if environment is None else environment,
            name=name,
            biomass_reaction=config["biomass_reaction"],
            z_score=config["thermo"]["z_score"],
        )

    @classmethod
    def from_rule(cls, params: Any, energies_dir: str | Path, name: str) -> ThermoEnvironment:
        """From a rule's ``params`` (model, solver, physiology, environment,
        biomass_reaction, z_score) and the reaction energies saved in ``energies_dir``."""
        return cls(
            model=load_network(params.model, solver=params.solver),
            energies=ReactionEnergies.load(Path(energies_dir)),
            physiology=params.physiology,
            environment=params.environment,
            name=name,
            biomass_reaction=params.biomass_reaction,
            z_score=params.z_score,
        )


@dataclass
class TFAProblem:
    """A cobra model copy holding the TFA MILP, with handles to its added variables.

    ``model`` carries the environment's reaction bounds; all names are readable in LP dumps:
    ``LnC_<metabolite>``, ``DG_<reaction>``, ``FU_<reaction>``, ``BU_<reaction>``,
    ``M_<basis column>``, and the constraints ``DG0band_<reaction>`` (|Q_j m| <= z sigma_j, in
    ``dg0_band``; reactions with sigma_j > 0). With ``relaxed`` set, the MILP also holds
    non-negative slacks ``SDGp_/SDGn_<reaction>`` on dG'0 and ``SLnClo_/SLnCup_<metabolite>``
    on ln c bounds.
    """

    model: cobra.Model
    env_name: str
    biomass_reaction: str
    rt: float
    big_m: float
    epsilon: float
    z_score: float
    constrained: list[str]
    unconstrained: dict[str, str]
    lnc_bounds: dict[str, tuple[float, float]]
    terms: dict[str, dict[str, float]]  # constrained reaction -> {metabolite: nu}
    basis: pd.DataFrame  # Q_r, rows = constrained reactions, columns = principal axes
    dg0_mean: pd.Series
    dg0_std: pd.Series  # sigma_j = ||Q_j||_2 (kJ/mol), the half-width of the band over z
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
        :class:`HighsMILP`); with any other optlang solver (e.g. GLPK), through optlang.
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


@dataclass
class Solution:
    """Status, objective value and variable values (by name; empty unless optimal)."""

    status: str
    objective: float
    values: dict[str, float]

    @property
    def optimal(self) -> bool:
        return self.status == OPTIMAL


def is_highs(model: cobra.Model) -> bool:
    """Whether the model's solver is cobra's "hybrid" interface (HiGHS for LP and MILP)."""
    return model.solver.interface.__name__ == "optlang.hybrid_interface"


class HighsMILP:
    """A snapshot of the model's MILP handed to HiGHS directly.

    Why not through optlang: its hybrid interface keeps variables in a set, so the column
    order (and with it which of several optimal vertices HiGHS returns) changes with
    Python's hash seed from run to run, and it rebuilds the whole matrix for every solve.
    Here columns and rows are sorted by name, the model is passed once, objectives change in
    place, and a known feasible point can seed the MILP search (a warm start).
    """

    def __init__(self, model: cobra.Model) -> None:
        import highspy

        self._highspy = highspy
        model.solver.update()
        source = model.solver.problem
        sparse = source.build()
        column_names = list(source.variables)  # the order build() used
        row_names = list(source.constraints)
        columns = sorted(range(len(column_names)), key=column_names.__getitem__)
        rows = sorted(range(len(row_names)), key=row_names.__getitem__)
        self.names = [column_names[i] for i in columns]
        self.index = {name: i for i, name in enumerate(self.names)}
        configuration = model.solver.configuration
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", 1)
        highs.setOptionValue(
            "primal_feasibility_tolerance", float(configuration.tolerances.feasibility)
        )
        highs.setOptionValue(
            "mip_feasibility_tolerance", float(configuration.tolerances.integrality)
        )
        lp = highspy.HighsLp()
        lp.num_col_ = len(columns)
        lp.num_row_ = len(rows)
        lp.col_cost_ = np.zeros(len(columns))
        lp.col_lower_ = sparse.vbounds[columns, 0]
        lp.col_upper_ = sparse.vbounds[columns, 1]
        if rows:
            matrix = sparse.A[rows][:, columns].tocsc()
            matrix.sort_indices()  # entry order within a column would follow the set order
            lp.a_matrix_.start_ = matrix.indptr
            lp.a_matrix_.index_ = matrix.indices
            lp.a_matrix_.value_ = matrix.data
            lp.row_lower_ = sparse.bounds[rows, 0]
            lp.row_upper_ = sparse.bounds[rows, 1]
        integer = np.asarray(sparse.integer)[columns].astype(bool)
        if integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                for flag in integer
            ]
        highs.passModel(lp)
        self.highs = highs
        self._cost: dict[int, float] = {}

    def solve_array(
        self,
        coefficients: Mapping[int, float],
        direction: str,
        start: np.ndarray | None = None,
    ) -> tuple[str, float, np.ndarray | None]:
        """Optimise sum(coefficients[i] x_i); returns status, objective and x (sorted names)."""
        highs, highspy = self.highs, self._highspy
        for i in self._cost:
            highs.changeColCost(i, 0.0)
        for i, value in coefficients.items():
            highs.changeColCost(i, float(value))
        self._cost = dict(coefficients)
        highs.changeObjectiveSense(
            highspy.ObjSense.kMaximize if direction == "max" else highspy.ObjSense.kMinimize
        )
        if start is not None:
            seed = highspy.HighsSolution()
            seed.col_value = list(start)
            seed.value_valid = True
            highs.setSolution(seed)
        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            text = highs.modelStatusToString(status).lower()
            return ("infeasible" if "infeasible" in text else text), math.nan, None
        values = np.asarray(highs.getSolution().col_value, dtype=float)
        return OPTIMAL, float(highs.getInfo().objective_function_value), values

    def optimize(self, coefficients: Mapping[Any, float], direction: str) -> Solution:
        """Optimise over optlang variables; values come back by variable name."""
        status, objective, values = self.solve_array(
            {self.index[variable.name]: value for variable, value in coefficients.items()},
            direction,
        )
        if values is None:
            return Solution(status, objective, {})
        return Solution(status, objective, dict(zip(self.names, values.tolist(), strict=True)))


def build_tfa_problem(
    env: ThermoEnvironment, tfa: Mapping[str, Any], *, relaxed: bool = False
) -> TFAProblem:
    """Copy the network, apply the environment and add the TFA variables and constraints.

    ``env.model`` is left untouched. With ``relaxed``, ln c bounds and dG'0 get non-negative
    slack variables (the relaxation MILP of :mod:`kinetigen.sampling.relaxation`); the slacks
    shift dG'0 beyond the box and the band, which stay as they are around the mean.
    """
    model, energies, physiology = env.model, env.energies, env.physiology
    environment, env_name, biomass_reaction = env.environment, env.name, env.biomass_reaction
    z_score = env.z_score
    validate_tfa_config(tfa, z_score)
    if biomass_reaction not in model.reactions:
        raise ValueError(
            f"config key 'biomass_reaction': {biomass_reaction!r} is not a reaction of the model"
        )
    rt = gas_constant_times_temperature(physiology)
    big_m, eps = float(tfa["big_m_kJ"]), float(tfa["epsilon_kJ"])
    tfa_model = model.copy()
    apply_environment(tfa_model, env_name, environment)
    lnc_bounds = ln_concentration_bounds(tfa_model, physiology, environment, env_name)
    constrained, unconstrained = split_reactions(tfa_model, energies)
    basis = uncertainty_basis(energies, constrained)
    problem = TFAProblem(
        model=tfa_model,
        env_name=env_name,
        biomass_reaction=biomass_reaction,
        rt=rt,
        big_m=big_m,
        epsilon=eps,
        z_score=float(z_score),
        constrained=constrained,
        unconstrained=unconstrained,
        lnc_bounds=lnc_bounds,
        terms={
            r: thermodynamic_stoichiometry(tfa_model.reactions.get_by_id(r)) for r in constrained
        },
        basis=basis,
        dg0_mean=energies.table.loc[constrained, "dg0_mean_kJ"].astype(float),
        dg0_std=dg0_marginal_std(basis),
    )
    problem.big_m_of, problem.dg_bounds = _reaction_big_m(problem, relaxed)
    _add_tfa_variables(problem, relaxed)
    return problem


def _add_tfa_variables(problem: TFAProblem, relaxed: bool) -> None:
    model = problem.model
    interface = model.problem
    eps, z = problem.epsilon, problem.z_score
    variables: list[Any] = []
    constraints: list[Any] = []
    coefficients: dict[Any, dict[Any, float]] = {}

    for metabolite_id, (low, high) in problem.lnc_bounds.items():
        if relaxed:  # the bounds become soft constraints below
            variable = interface.Variable(f"LnC_{metabolite_id}", lb=None, ub=None)
            lower_slack = interface.Variable(f"SLnClo_{metabolite_id}", lb=0)
            upper_slack = interface.Variable(f"SLnCup_{metabolite_id}", lb=0)
            problem.lnc_slack[metabolite_id] = (lower_slack, upper_slack)
            lower = interface.Constraint(Zero, lb=low, name=f"LnClo_{metabolite_id}")
            upper = interface.Constraint(Zero, ub=high, name=f"LnCup_{metabolite_id}")
            coefficients[lower] = {variable: 1.0, lower_slack: 1.0}
            coefficients[upper] = {variable: 1.0, upper_slack: -1.0}
            variables += [lower_slack, upper_slack]
            constraints += [lower, upper]
        else:
            variable = interface.Variable(f"LnC_{metabolite_id}", lb=low, ub=high)
        problem.lnc[metabolite_id] = variable
        variables.append(variable)

    for column in problem.basis.columns:
        variable = interface.Variable(f"M_{column}", lb=-z, ub=z)
        problem.uncertainty[column] = variable
        variables.append(variable)

    for reaction_id in problem.constrained:
        half_width = z * float(problem.dg0_std[reaction_id])
        if half_width == 0.0:
            continue  # no uncertainty: dG'0 is the mean
        band = interface.Constraint(
            Zero, lb=-half_width, ub=half_width, name=f"DG0band_{reaction_id}"
        )
        coefficients[band] = {
            problem.uncertainty[column]: float(value)
            for column, value in problem.basis.loc[reaction_id].items()
            if value != 0.0
        }
        problem.dg0_band[reaction_id] = band
        constraints.append(band)

    for reaction_id in problem.constrained:
        reaction = model.reactions.get_by_id(reaction_id)
        big_m = problem.big_m_of[reaction_id]
        dg_low, dg_high = problem.dg_bounds[reaction_id]
        dg = interface.Variable(f"DG_{reaction_id}", lb=dg_low, ub=dg_high)
        forward_use = interface.Variable(f"FU_{reaction_id}", type="binary")
        backward_use = interface.Variable(f"BU_{reaction_id}", type="binary")
        problem.dg[reaction_id] = dg
        problem.forward_use[reaction_id] = forward_use
        problem.backward_use[reaction_id] = backward_use
        variables += [dg, forward_use, backward_use]

        definition = interface.Constraint(
            Zero,
            lb=problem.dg0_mean[reaction_id],
            ub=problem.dg0_mean[reaction_id],
            name=f"DGdef_{reaction_id}",
        )
        terms = {dg: 1.0}
        for column, value in problem.basis.loc[reaction_id].items():
            if value != 0.0:
                terms[problem.uncertainty[column]] = -float(value)
        for metabolite_id, nu in problem.terms[reaction_id].items():
            terms[problem.lnc[metabolite_id]] = -problem.rt * nu
        if relaxed:
            up = interface.Variable(f"SDGp_{reaction_id}", lb=0)
            down = interface.Variable(f"SDGn_{reaction_id}", lb=0)
            problem.dg0_slack[reaction_id] = (up, down)
            variables += [up, down]
            terms[up], terms[down] = -1.0, 1.0
        coefficients[definition] = terms

        forward_sign = interface.Constraint(Zero, ub=big_m - eps, name=f"FUdG_{reaction_id}")
        backward_sign = interface.Constraint(Zero, ub=big_m - eps, name=f"BUdG_{reaction_id}")
        coefficients[forward_sign] = {dg: 1.0, forward_use: big_m}
        coefficients[backward_sign] = {dg: -1.0, backward_use: big_m}
        problem.direction_constraints[reaction_id] = (forward_sign, backward_sign)
        exclusive = interface.Constraint(Zero, ub=1, name=f"UseOnce_{reaction_id}")
        coefficients[exclusive] = {forward_use: 1.0, backward_use: 1.0}
        forward_flux = interface.Constraint(Zero, ub=0, name=f"FUflux_{reaction_id}")
        coefficients[forward_flux] = {
            reaction.forward_variable: 1.0,
            forward_use: -max(reaction.upper_bound, 0.0),
        }
        backward_flux = interface.Constraint(Zero, ub=0, name=f"BUflux_{reaction_id}")
        coefficients[backward_flux] = {
            reaction.reverse_variable: 1.0,
            backward_use: -max(-reaction.lower_bound, 0.0),
        }
        constraints += [definition, forward_sign, backward_sign, exclusive]
        constraints += [forward_flux, backward_flux]

    model.add_cons_vars(variables + constraints)
    model.solver.update()
    for constraint, terms in coefficients.items():
        constraint.set_linear_coefficients(terms)
    model.solver.update()


def dg_box_bounds(problem: TFAProblem) -> dict[str, tuple[float, float]]:
    """Smallest and largest dG (kJ/mol) of each constrained reaction over the region of m, ln c.

    dG'0 spans mean +- z sigma_j: the band is never wider than the box (||Q_j||_2 <=
    ||Q_j||_1), and m = z Q_j^T / ||Q_j||_2 reaches its ends inside the box. ln c spans its
    bounds independently, so these are the attainable extremes.
    """
    bounds = {}
    for reaction_id in problem.constrained:
        spread = problem.z_score * float(problem.dg0_std[reaction_id])
        low = high = float(problem.dg0_mean[reaction_id])
        for metabolite_id, nu in problem.terms[reaction_id].items():
            ends = [problem.rt * nu * end for end in problem.lnc_bounds[metabolite_id]]
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
    if relaxed:
        return (
            {r: problem.big_m for r in problem.constrained},
            {r: (-problem.big_m, problem.big_m) for r in problem.constrained},
        )
    big_m, bounds = {}, {}
    for reaction_id, (low, high) in dg_box_bounds(problem).items():
        needed = max(abs(low), abs(high)) + problem.epsilon
        if needed > problem.big_m:
            logger.warning(
                "environment %s: |dG| of %s can reach %.0f kJ/mol, beyond tfa.big_m_kJ = %g; "
                "raise big_m_kJ or TFA cuts off feasible states",
                problem.env_name, reaction_id, needed, problem.big_m,
            )
        # the small pad keeps solver round-off from cutting off the corners of the box
        big_m[reaction_id] = min(problem.big_m, needed * (1 + 1e-6) + 1e-6)
        bounds[reaction_id] = (max(low, -problem.big_m), min(high, problem.big_m))
    return big_m, bounds


def maximize_growth(problem: TFAProblem) -> tuple[str, float]:
    """(status, growth in 1/h) of the TFA growth optimum; growth is nan unless optimal."""
    solution = problem.optimize(problem.flux_coefficients(problem.biomass_reaction), "max")
    return solution.status, solution.objective


@dataclass
class ReferenceSolution:
    """One TFA solution: fluxes (mmol/gDW/h), dG (kJ/mol) and ln c, with its profile."""

    fluxes: pd.Series
    dg: pd.Series
    lnc: pd.Series
    directionality: dict[str, int]


def reference_solution(
    problem: TFAProblem,
    mode: str,
    min_growth: float,
    *,
    min_abs_dg_kJ: float | None = None,
    min_abs_flux: float | None = None,
) -> ReferenceSolution:
    """Reference TFA solution and its directionality profile (see the module docstring).

    ``min_abs_dg_kJ`` / ``min_abs_flux``: if given, active constrained reactions of the
    reference also have |dG| >= min_abs_dg_kJ and |v| >= min_abs_flux.
    """
    if mode not in DIRECTIONALITY_MODES:
        raise ValueError(
            f"config key 'tfa.directionality' must be one of {DIRECTIONALITY_MODES}, got {mode!r}"
        )
    model = problem.model
    with model:
        biomass = model.reactions.get_by_id(problem.biomass_reaction)
        biomass.lower_bound = max(biomass.lower_bound, min_growth)
        if min_abs_flux is not None:
            _add_minimum_active_flux(problem, float(min_abs_flux))
        margin = None if min_abs_dg_kJ is None else max(problem.epsilon, float(min_abs_dg_kJ))
        _set_active_dg_margin(problem, margin)
        try:
            if mode == "max_growth":
                solution = problem.optimize(
                    problem.flux_coefficients(problem.biomass_reaction), "max"
                )
            else:
                solution = problem.optimize(problem.total_flux_coefficients(), "min")
        finally:
            _set_active_dg_margin(problem, None)
    values = solution.values
    if not solution.optimal:
        raise RuntimeError(
            f"environment {problem.env_name!r}: the reference TFA problem ({mode}) is "
            f"{solution.status}"
            + (
                "; the sampling margins (sampling.min_abs_dg_kJ / min_abs_flux) may be too large"
                if min_abs_dg_kJ is not None or min_abs_flux is not None
                else ""
            )
        )
    fluxes = problem.net_fluxes(values)
    profile = {
        reaction_id: int(np.sign(flux)) if abs(flux) >= ZERO_FLUX else 0
        for reaction_id, flux in fluxes.items()
    }
    if min_abs_flux is not None:
        small = [r for r, v in fluxes.items() if profile[r] and abs(v) < min_abs_flux]
        if small:
            logger.warning(
                "environment %s: active reactions below sampling.min_abs_flux in the reference "
                "(no binaries to lift them): %s",
                problem.env_name, ", ".join(small),
            )
    return ReferenceSolution(
        fluxes=fluxes,
        dg=pd.Series({r: values[v.name] for r, v in problem.dg.items()}, name="dg", dtype=float),
        lnc=pd.Series(
            {m: values[v.name] for m, v in problem.lnc.items()}, name="lnc", dtype=float
        ),
        directionality=profile,
    )


def _set_active_dg_margin(problem: TFAProblem, margin: float | None) -> None:
    """Require |dG| >= margin of active reactions (None: back to epsilon).

    DG + (M + margin - eps) FU <= M - eps gives DG <= -margin when FU = 1 and leaves the
    inactive case (DG <= M - eps) as it was; likewise for BU.
    """
    for reaction_id, (forward_sign, backward_sign) in problem.direction_constraints.items():
        big_m = problem.big_m_of[reaction_id]
        coefficient = big_m + (problem.epsilon if margin is None else margin) - problem.epsilon
        forward_sign.set_linear_coefficients({problem.forward_use[reaction_id]: coefficient})
        backward_sign.set_linear_coefficients({problem.backward_use[reaction_id]: coefficient})


def _add_minimum_active_flux(problem: TFAProblem, min_abs_flux: float) -> None:
    """F_j >= min_abs_flux FU_j and R_j >= min_abs_flux BU_j (inside a model context)."""
    model = problem.model
    interface = model.problem
    constraints, coefficients = [], {}
    for reaction_id in problem.constrained:
        reaction = model.reactions.get_by_id(reaction_id)
        for name, flux, use in (
            (f"FUmin_{reaction_id}", reaction.forward_variable, problem.forward_use[reaction_id]),
            (f"BUmin_{reaction_id}", reaction.reverse_variable, problem.backward_use[reaction_id]),
        ):
            constraint = interface.Constraint(Zero, lb=0, name=name)
            constraints.append(constraint)
            coefficients[constraint] = {flux: 1.0, use: -min_abs_flux}
    model.add_cons_vars(constraints)
    model.solver.update()
    for constraint, terms in coefficients.items():
        constraint.set_linear_coefficients(terms)


def run_tfa(
    env: ThermoEnvironment, tfa: Mapping[str, Any], *, sampling: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """TFA of one environment: growth, reference directionality profile and variability.

    Parameters
    ----------
    env
        The environment. Its reaction bounds are applied to a copy of the network, so a bare
        network and one already in the environment give the same result.
    tfa
        The ``tfa`` config section.
    sampling
        The ``sampling`` config section; if given, the reference also honours its
        ``min_abs_dg_kJ`` and ``min_abs_flux``, so the profile can be sampled.

    Returns
    -------
    summary
        JSON-serialisable: environment; fba_growth, tfa_growth, min_growth (1/h) and
        min_growth_fraction; n_constrained, n_unconstrained, unconstrained_reactions
        [{reaction, reason}]; directionality_mode, reference_margins (the sampling margins
        the reference honours, {} if none), directionality {reaction: +1/-1/0}; reference
        {flux (mmol/gDW/h), dg (kJ/mol), lnc (ln mol/L)} of the reference solution; solver
        ("hybrid", "glpk", ...); wall_seconds.
    variability
        :func:`kinetigen.sampling.variability.thermodynamic_variability` output, or None when
        ``tfa["variability"]`` is false.

    Raises
    ------
    InvalidEnvironment
        FBA is infeasible or cannot grow (names the environment).
    InfeasibleTFA
        TFA cannot grow; carries the relaxation report in ``.report``.
    """
    from kinetigen.sampling.relaxation import find_relaxation
    from kinetigen.sampling.variability import thermodynamic_variability

    start = time.perf_counter()
    env_name = env.name
    validate_tfa_config(tfa, env.z_score)
    fba = _fba_growth(env.model, env.environment, env_name, env.biomass_reaction)
    problem = build_tfa_problem(env, tfa)
    logger.info(
        "environment %s: TFA MILP with %d constrained and %d unconstrained reactions, "
        "%d ln c and %d uncertainty variables",
        env_name, len(problem.constrained), len(problem.unconstrained), len(problem.lnc),
        len(problem.uncertainty),
    )
    status, tfa_growth = maximize_growth(problem)
    if status != OPTIMAL or not tfa_growth > NO_GROWTH:
        target = float(tfa["min_growth_fraction"]) * fba
        logger.warning(
            "environment %s: TFA is %s (growth %s); searching the smallest relaxation",
            env_name, status, tfa_growth,
        )
        report = find_relaxation(env, tfa, min_growth=target)
        from kinetigen.sampling.relaxation import InfeasibleTFA

        raise InfeasibleTFA(
            env_name,
            f"solver status {status}, growth {tfa_growth:.3g} 1/h against FBA {fba:.3g} 1/h",
            report=report,
        )
    min_growth = float(tfa["min_growth_fraction"]) * tfa_growth
    logger.info(
        "environment %s: FBA growth %.4f 1/h, TFA growth %.4f 1/h, minimum %.4f 1/h",
        env_name, fba, tfa_growth, min_growth,
    )
    margins = {}
    if sampling is not None:
        margins = {
            "min_abs_dg_kJ": float(sampling["min_abs_dg_kJ"]),
            "min_abs_flux": float(sampling["min_abs_flux"]),
        }
    reference = reference_solution(
        problem, str(tfa["directionality"]), min_growth, **margins
    )
    counts = pd.Series(reference.directionality).value_counts()
    logger.info(
        "environment %s: reference (%s) has %d forward, %d backward, %d inactive reactions",
        env_name, tfa["directionality"], counts.get(1, 0), counts.get(-1, 0), counts.get(0, 0),
    )
    variability = None
    if tfa.get("variability", False):
        variability = thermodynamic_variability(problem, min_growth)
    summary = {
        "environment": env_name,
        "fba_growth": fba,
        "tfa_growth": tfa_growth,
        "min_growth": min_growth,
        "min_growth_fraction": float(tfa["min_growth_fraction"]),
        "n_constrained": len(problem.constrained),
        "n_unconstrained": len(problem.unconstrained),
        "unconstrained_reactions": [
            {"reaction": r, "reason": reason} for r, reason in problem.unconstrained.items()
        ],
        "directionality_mode": str(tfa["directionality"]),
        "reference_margins": margins,
        "directionality": reference.directionality,
        "reference": {
            "flux": {k: float(v) for k, v in reference.fluxes.items()},
            "dg": {k: float(v) for k, v in reference.dg.items()},
            "lnc": {k: float(v) for k, v in reference.lnc.items()},
        },
        "solver": _solver_name(problem.model),
        "wall_seconds": time.perf_counter() - start,
    }
    return summary, variability


def _fba_growth(
    model: cobra.Model, environment: Mapping[str, Any], env_name: str, biomass_reaction: str
) -> float:
    """FBA growth optimum in the environment; no growth counts as an infeasible environment."""
    from kinetigen.network import InvalidEnvironment

    if biomass_reaction not in model.reactions:
        raise ValueError(
            f"config key 'biomass_reaction': {biomass_reaction!r} is not a reaction of the model"
        )
    with model, warnings.catch_warnings():
        # cobra warns about an infeasible status; the error raised instead names the cause
        warnings.simplefilter("ignore", UserWarning)
        apply_environment(model, env_name, environment)
        model.objective = biomass_reaction
        model.objective_direction = "max"
        growth = fba_growth(model, env_name)
    if growth <= NO_GROWTH:
        raise InvalidEnvironment(f"environment {env_name!r}: FBA growth is {growth:g} (no growth)")
    return growth


def _solver_name(model: cobra.Model) -> str:
    return model.solver.interface.__name__.rsplit(".", 1)[-1].removesuffix("_interface")
