"""TFA, thermodynamic variability, infeasibility relaxation and steady-state sampling.

One function per Snakemake rule: :func:`run_tfa` (per environment: growth, reference
directionality profile, variability) and :func:`sample_steady_states` (per environment: the
steady-state table); :func:`check_steady_states` re-checks a table. Each takes the
environment as one :class:`ThermoEnvironment`.

Modules, each importing only those above it: ``errors``; ``environment`` (the environment and
what follows from it: constrained reactions, ln c bounds, uncertainty basis); ``solver`` (the
HiGHS adapter); ``problem`` (the TFA MILP); ``reference``, ``variability``, ``relaxation``;
``tfa`` (the TFA stage); ``polytope`` and ``checks``; ``steady_states`` (the sampling stage).
"""

from kinetigen.sampling.checks import check_steady_states, steady_state_violations
from kinetigen.sampling.environment import (
    ThermoEnvironment,
    dg0_marginal_std,
    ln_concentration_bounds,
    uncertainty_basis,
)
from kinetigen.sampling.errors import InfeasibleTFA, SteadyStateViolation
from kinetigen.sampling.problem import TFAProblem, build_tfa_problem, maximize_growth
from kinetigen.sampling.reference import reference_solution
from kinetigen.sampling.relaxation import apply_relaxation, find_relaxation
from kinetigen.sampling.solver import HighsMILP
from kinetigen.sampling.steady_states import lag_one_autocorrelation, sample_steady_states
from kinetigen.sampling.tfa import run_tfa
from kinetigen.sampling.variability import thermodynamic_variability, variability_targets
from kinetigen.settings import GAS_CONSTANT_KJ_PER_MOL_K

__all__ = [
    "GAS_CONSTANT_KJ_PER_MOL_K",
    "HighsMILP",
    "InfeasibleTFA",
    "SteadyStateViolation",
    "TFAProblem",
    "ThermoEnvironment",
    "apply_relaxation",
    "build_tfa_problem",
    "check_steady_states",
    "dg0_marginal_std",
    "find_relaxation",
    "lag_one_autocorrelation",
    "ln_concentration_bounds",
    "maximize_growth",
    "reference_solution",
    "run_tfa",
    "sample_steady_states",
    "steady_state_violations",
    "thermodynamic_variability",
    "uncertainty_basis",
    "variability_targets",
]
