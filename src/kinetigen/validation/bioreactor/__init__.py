"""Batch bioreactor simulation of kinetic models (DESIGN.md 2.6, "Bioreactor").

A well-mixed batch culture in which the cells follow one parameterised kinetic model.

States (one ODE system per model):

- intracellular concentrations ``x`` of the kinetic model's states (mol per litre of cell
  volume);
- dynamic extracellular concentrations ``S`` (mol per litre of medium): every boundary
  metabolite of the extracellular compartment ("e") that an active kinetic reaction consumes or
  produces, except those the medium holds constant (sparged gases and buffered ions, setting
  ``constant_metabolites``, BiGG base ids; see the schema for the default);
- biomass ``X`` (gDW per litre of medium).

Equations, with rates ``v(x, S)`` of the kinetic model (mol/L cell/h, model orientation),
stoichiometry ``N`` and the cell density ``rho`` (gDW per litre of cell volume,
``physiology.cell_density_gDW_per_L``):

- ``dx/dt = N_x v(x, S)``. There is no growth-dilution term (-mu x): the kinetic model's
  steady state (N_x v = 0) then stays a steady state of the intracellular part at t = 0, and
  the initial rates are exactly the sampled physiology;
- ``dS/dt = (X / rho) N_S v(x, S)``: ``X / rho`` is the cell volume per litre of medium, so
  rates per cell volume become rates per medium volume;
- ``dX/dt = mu X`` with ``mu = v_biomass / (1e-3 rho)``: the biomass reaction's rate converted
  back to mmol/gDW/h, which for the biomass reaction is 1/h. With ``kinetics.biomass_law:
  per_substrate`` there is no single biomass rate: ``v_biomass`` is then the carbon-weighted
  mean ``sum_s g_s w_s`` of the substrate drains' rates, ``g_s`` drain s's share of the
  carbon entering biomass (``KineticModel.growth_weights``), which equals the biomass flux at
  every steady state.

Start: ``x`` and ``S`` at the steady state (the sample's concentrations), ``X = X0``. The
integration (stiff: BDF by default, with the analytic Jacobian of the full system) stops when
the substrate falls below ``exhaustion_fraction`` of its start value (terminal event) or at
``max_time_h``. Concentrations must stay positive (the thermodynamic term uses ln x). The
guard: the rate laws are evaluated at concentrations floored at 1e-20 of their start (so trial
states of the solver never make dy/dt undefined); a state that falls below zero by more than
its absolute tolerance stops the run (terminal event, status ``non_positive_concentration``,
naming the state); a failed solve, or one that needs more than ``max_rhs_evaluations``, is
reported with its reason. None of these raises: every model gets a summary row that says how
its run ended. A metabolite that merely decays to within the absolute tolerance of zero (a
depleted pool) is not an error.

Balances: for every dynamic extracellular metabolite the change of its ODE state,
``S(t_end) - S(0)``, is compared with an independent quadrature of its exchange rate,
``integral of X(t) q(t) dt`` where ``q = 1e3 N_S v / rho`` is the exchange per gDW
(mmol/gDW/h; negative for uptake). The quadrature re-evaluates the rate laws on the solver's
dense output, with 5-point Gauss-Legendre rules on every accepted solver step, so it checks
the integration against the rate laws rather than the ODE state against itself.

Units in outputs: time in h, biomass in gDW/L, extracellular concentrations in mmol/L, growth
rate in 1/h, yield in gDW per mmol substrate.

Modules, each importing only those before it: ``medium`` (which extracellular metabolites are
dynamic, the substrate), ``system`` (the ODE system of one model), ``batch`` (one simulation and
its summary), ``ensemble`` (many models in worker processes, :func:`kinetigen.parallel.map_tasks`).
"""

from kinetigen.settings import BioreactorConfigError, BioreactorSettings
from kinetigen.validation.bioreactor.batch import (
    BALANCE_PREFIX,
    CONCENTRATION_SUFFIX,
    EXHAUSTED,
    INVALID_PARAMETERS,
    MAX_TIME,
    NON_POSITIVE,
    SOLVER_FAILED,
    BatchResult,
    concentration_column,
    exchange_integrals,
    simulate_batch,
)
from kinetigen.validation.bioreactor.ensemble import simulate_ensemble
from kinetigen.validation.bioreactor.medium import (
    as_bioreactor_settings,
    dynamic_extracellular,
    exchange_stoichiometry,
    resolve_substrate,
    steady_state_uptake,
)
from kinetigen.validation.bioreactor.system import (
    CONFIG_SECTION,
    FLOOR_FRACTION,
    BioreactorModel,
    EvaluationBudgetExceeded,
)

__all__ = [
    "BALANCE_PREFIX",
    "CONCENTRATION_SUFFIX",
    "CONFIG_SECTION",
    "EXHAUSTED",
    "FLOOR_FRACTION",
    "INVALID_PARAMETERS",
    "MAX_TIME",
    "NON_POSITIVE",
    "SOLVER_FAILED",
    "BatchResult",
    "BioreactorConfigError",
    "BioreactorModel",
    "BioreactorSettings",
    "EvaluationBudgetExceeded",
    "as_bioreactor_settings",
    "concentration_column",
    "dynamic_extracellular",
    "exchange_integrals",
    "exchange_stoichiometry",
    "resolve_substrate",
    "simulate_batch",
    "simulate_ensemble",
    "steady_state_uptake",
]
