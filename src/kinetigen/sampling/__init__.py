"""TFA, thermodynamic variability, infeasibility relaxation and steady-state sampling.

One function per Snakemake rule: :func:`run_tfa` (per environment: growth, reference
directionality profile, variability) and :func:`sample_steady_states` (per environment: the
steady-state table); :func:`check_steady_states` re-checks a table. Each takes the
environment as one :class:`ThermoEnvironment`.
"""

from kinetigen.sampling.relaxation import InfeasibleTFA, apply_relaxation, find_relaxation
from kinetigen.sampling.steady_states import (
    SteadyStateViolation,
    check_steady_states,
    lag_one_autocorrelation,
    sample_steady_states,
    steady_state_violations,
)
from kinetigen.sampling.tfa import (
    GAS_CONSTANT_KJ_PER_MOL_K,
    TFAProblem,
    ThermoEnvironment,
    build_tfa_problem,
    dg0_marginal_std,
    maximize_growth,
    reference_solution,
    run_tfa,
    uncertainty_basis,
)
from kinetigen.sampling.variability import thermodynamic_variability, variability_targets

__all__ = [
    "GAS_CONSTANT_KJ_PER_MOL_K",
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
    "maximize_growth",
    "reference_solution",
    "run_tfa",
    "sample_steady_states",
    "steady_state_violations",
    "thermodynamic_variability",
    "uncertainty_basis",
    "variability_targets",
]
