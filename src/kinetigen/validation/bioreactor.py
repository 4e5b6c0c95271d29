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
  back to mmol/gDW/h, which for the biomass reaction is 1/h.

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
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from kinetigen.kinetics import KineticModel, NonlinearModel
from kinetigen.network import base_id
from kinetigen.settings import BioreactorConfigError, BioreactorSettings  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)

# Settings: kinetigen.settings.BioreactorSettings (defaults, types and ranges: the schema's).
CONFIG_SECTION = BioreactorSettings.SECTION
CONCENTRATION_SUFFIX = "_mmol_per_L"
BALANCE_PREFIX = "balance_error:"

# Statuses of one simulation; only EXHAUSTED means the run reached its goal.
EXHAUSTED = "exhausted"
MAX_TIME = "max_time_reached"
NON_POSITIVE = "non_positive_concentration"
SOLVER_FAILED = "solver_failed"
INVALID_PARAMETERS = "invalid_parameters"

# Rate laws see concentrations no lower than this fraction of their start (see
# BioreactorModel._evaluation_state).
FLOOR_FRACTION = 1.0e-20

_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(5)


class EvaluationBudgetExceeded(RuntimeError):
    """The solver needed more right-hand-side evaluations than ``max_rhs_evaluations``."""


def as_bioreactor_settings(
    settings: BioreactorSettings | Mapping[str, Any] | None,
) -> BioreactorSettings:
    """Accept ready settings, a whole workflow config, or None (defaults)."""
    if settings is None:
        return BioreactorSettings()
    if isinstance(settings, BioreactorSettings):
        return settings
    return BioreactorSettings.from_config(settings)


# --------------------------------------------------------------------------------------------
# Which extracellular metabolites are dynamic, and which one is the substrate


def dynamic_extracellular(
    kinetic_model: KineticModel, settings: BioreactorSettings | None = None
) -> list[str]:
    """Boundary metabolites of the extracellular compartment that become states, in the
    kinetic model's boundary order (all of them take part in some active reaction)."""
    settings = as_bioreactor_settings(settings)
    constant = set(settings.constant_metabolites)
    return [
        metabolite
        for metabolite in kinetic_model.boundary
        if kinetic_model.compartments.get(metabolite) == settings.extracellular_compartment
        and base_id(metabolite) not in constant
    ]


def _exchange_stoichiometry(kinetic_model: KineticModel, metabolites: Sequence[str]) -> np.ndarray:
    """N_S: coefficients of ``metabolites`` in the kinetic reactions [metabolites, reactions]."""
    matrix = np.zeros((len(metabolites), len(kinetic_model.rate_laws)))
    row = {m: i for i, m in enumerate(metabolites)}
    for j, coefficients in enumerate(kinetic_model.reaction_metabolites):
        for metabolite, coefficient in coefficients.items():
            if metabolite in row:
                matrix[row[metabolite], j] = coefficient
    return matrix


def steady_state_uptake(kinetic_model: KineticModel, metabolites: Sequence[str]) -> np.ndarray:
    """Uptake of ``metabolites`` at every steady state [steady states, metabolites]
    (mmol/gDW/h, positive = consumed by the cells)."""
    stoichiometry = _exchange_stoichiometry(kinetic_model, metabolites)
    rate = -kinetic_model.flux @ stoichiometry.T  # mol/L cell/h
    return rate / kinetic_model.settings.flux_to_molar_rate


def resolve_substrate(
    kinetic_model: KineticModel, settings: BioreactorSettings | None = None
) -> str:
    """The substrate whose exhaustion ends the batch.

    ``settings.substrate`` when given; otherwise the environment's main carbon source, taken
    as the dynamic extracellular metabolite with the largest mean molar uptake over the
    steady states (the constant gases and ions are excluded, so on glucose media this is
    glc__D_e). Raises :class:`BioreactorConfigError` when the substrate is not dynamic or not
    consumed.
    """
    settings = as_bioreactor_settings(settings)
    dynamic = dynamic_extracellular(kinetic_model, settings)
    environment = kinetic_model.environment
    if not dynamic:
        raise BioreactorSettings.error(
            "constant_metabolites",
            f"holds them all: the kinetic model of environment {environment!r} has no dynamic "
            "extracellular metabolite",
        )
    uptake = steady_state_uptake(kinetic_model, dynamic).mean(axis=0)
    if settings.substrate is None:
        substrate = dynamic[int(np.argmax(uptake))]
    else:
        substrate = settings.substrate
        if substrate not in dynamic:
            raise BioreactorSettings.error(
                "substrate",
                f"{substrate!r} is not a dynamic extracellular metabolite of environment "
                f"{environment!r} (dynamic: {dynamic})",
            )
    if uptake[dynamic.index(substrate)] <= 0:
        raise BioreactorSettings.error(
            "substrate",
            f"{substrate!r} is not consumed at the steady states of environment "
            f"{environment!r} (mean uptake {uptake[dynamic.index(substrate)]:.3g} mmol/gDW/h); "
            "name a consumed metabolite",
        )
    return substrate


def concentration_column(metabolite: str) -> str:
    """Time-course column of an extracellular metabolite (mmol/L)."""
    return metabolite + CONCENTRATION_SUFFIX


# --------------------------------------------------------------------------------------------
# One model


class BioreactorModel:
    """The batch-culture ODE system of one parameterised kinetic model.

    State vector ``y = [x (model.states, mol/L cell), S (extracellular, mol/L medium),
    X (gDW/L medium)]``; time in hours. ``rhs`` and ``jac`` suit scipy's ``solve_ivp``.
    """

    def __init__(
        self,
        kinetic_model: KineticModel,
        steady_state: int,
        ln_km: np.ndarray,
        settings: BioreactorSettings | Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = as_bioreactor_settings(settings)
        self.kinetic_model = kinetic_model
        self.nonlinear = NonlinearModel(kinetic_model, int(steady_state), ln_km)
        self.steady_state = int(steady_state)
        biomass = kinetic_model.settings.biomass_reaction
        if biomass not in kinetic_model.reactions:
            raise ValueError(
                f"environment {kinetic_model.environment!r}: biomass reaction {biomass!r} is "
                "not active in the kinetic model, so nothing grows"
            )
        self.biomass_index = kinetic_model.reactions.index(biomass)
        self.extracellular = dynamic_extracellular(kinetic_model, self.settings)
        self.substrate = resolve_substrate(kinetic_model, self.settings)
        self.substrate_index = self.extracellular.index(self.substrate)
        self.cell_density = kinetic_model.settings.cell_density_gDW_per_L
        self.flux_to_molar_rate = kinetic_model.settings.flux_to_molar_rate
        self.n_states = len(kinetic_model.states)
        self.n_extracellular = len(self.extracellular)
        boundary_position = {m: i for i, m in enumerate(kinetic_model.boundary)}
        self._boundary_slots = np.array(
            [boundary_position[m] for m in self.extracellular], dtype=int
        )
        self.exchange_stoichiometry = _exchange_stoichiometry(kinetic_model, self.extracellular)
        self.names = list(kinetic_model.states) + self.extracellular + ["biomass"]
        self.y0 = np.concatenate(
            [
                self.nonlinear.x_ref,
                self.nonlinear.boundary_concentration[self._boundary_slots],
                [self.settings.initial_biomass_gDW_per_L],
            ]
        )
        self._floor = FLOOR_FRACTION * self.y0[:-1]
        # (time, name, value) of the last state tried with a non-positive concentration.
        self.last_invalid: tuple[float, str, float] | None = None
        self.n_evaluations = 0

    @property
    def size(self) -> int:
        return len(self.y0)

    def split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(x, S, X) of a state vector."""
        n, m = self.n_states, self.n_extracellular
        return y[:n], y[n : n + m], float(y[n + m])

    def boundary(self, extracellular: np.ndarray) -> np.ndarray:
        """All boundary concentrations of the kinetic model with the dynamic ones replaced."""
        boundary = self.nonlinear.boundary_concentration.copy()
        boundary[self._boundary_slots] = extracellular
        return boundary

    def rates(self, y: np.ndarray) -> np.ndarray:
        """Reaction rates (mol/L cell/h, model orientation) at state ``y``, evaluated as
        ``rhs`` does (concentrations floored, see ``_evaluation_state``)."""
        concentrations = np.maximum(np.asarray(y, dtype=float)[:-1], self._floor)
        n = self.n_states
        return self.nonlinear.rates(concentrations[:n], self.boundary(concentrations[n:]))

    def growth_rate(self, y: np.ndarray) -> float:
        """mu (1/h): the biomass reaction's rate in mmol/gDW/h."""
        return float(self.rates(y)[self.biomass_index] / self.flux_to_molar_rate)

    def specific_exchange(self, y: np.ndarray) -> np.ndarray:
        """Exchange of the dynamic extracellular metabolites per gDW (mmol/gDW/h; negative
        for uptake)."""
        return self.exchange_stoichiometry @ self.rates(y) / self.flux_to_molar_rate

    def _evaluation_state(self, t: float, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Concentrations at which the rate laws are evaluated, and the mask where they
        follow ``y`` (elsewhere they are held at the floor).

        The rate laws need positive concentrations (ln x). Trial states of the stiff solvers
        may dip below zero; evaluating them at ``FLOOR_FRACTION`` of the start value keeps
        dy/dt finite so that the solver can reject or shrink the step. An accepted state
        with a non-positive concentration stops the run through the positivity event. The
        floor lies far below the absolute tolerance, so it never changes an accepted answer.
        """
        concentrations = y[:-1]
        if np.any(concentrations <= 0):
            first = int(np.flatnonzero(concentrations <= 0)[0])
            self.last_invalid = (float(t), self.names[first], float(concentrations[first]))
        follows = concentrations > self._floor
        return np.where(follows, concentrations, self._floor), follows

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """dy/dt (mol/L cell/h, mol/L medium/h, gDW/L/h).

        Raises :class:`EvaluationBudgetExceeded` after ``max_rhs_evaluations`` calls, so that
        a pathologically stiff run cannot stall an ensemble.
        """
        self.n_evaluations += 1
        if self.n_evaluations > self.settings.max_rhs_evaluations:
            raise EvaluationBudgetExceeded(
                f"more than {self.settings.max_rhs_evaluations} right-hand-side evaluations "
                f"(config key '{CONFIG_SECTION}.max_rhs_evaluations'); stopped at t = {t:.4g} h"
            )
        concentrations, _ = self._evaluation_state(t, y)
        n = self.n_states
        biomass = float(y[-1])
        rates = self.nonlinear.rates(concentrations[:n], self.boundary(concentrations[n:]))
        return np.concatenate(
            [
                self.kinetic_model.stoichiometry @ rates,
                (biomass / self.cell_density) * (self.exchange_stoichiometry @ rates),
                [biomass * rates[self.biomass_index] / self.flux_to_molar_rate],
            ]
        )

    def jac(self, t: float, y: np.ndarray) -> np.ndarray:
        """Analytic Jacobian d(dy/dt)/dy of the full system (1/h and mixed units)."""
        concentrations, follows = self._evaluation_state(t, y)
        n, m = self.n_states, self.n_extracellular
        biomass = float(y[-1])
        rates, derivative = self.nonlinear.rate_derivatives_all(
            concentrations[:n], self.boundary(concentrations[n:])
        )
        # dv/d(x, S): the state columns, then the dynamic boundary columns.
        dv = np.concatenate([derivative[:, :n], derivative[:, n + self._boundary_slots]], axis=1)
        dv = dv * follows  # held at the floor: no dependence on y
        volume_fraction = biomass / self.cell_density
        jacobian = np.zeros((self.size, self.size))
        jacobian[:n, : n + m] = self.kinetic_model.stoichiometry @ dv
        jacobian[n : n + m, : n + m] = volume_fraction * (self.exchange_stoichiometry @ dv)
        jacobian[n : n + m, -1] = (self.exchange_stoichiometry @ rates) / self.cell_density
        jacobian[-1, : n + m] = biomass * dv[self.biomass_index] / self.flux_to_molar_rate
        jacobian[-1, -1] = rates[self.biomass_index] / self.flux_to_molar_rate
        return jacobian

    # --- events -----------------------------------------------------------------------------
    def exhaustion_event(self, t: float, y: np.ndarray) -> float:
        """Zero when the substrate reaches ``exhaustion_fraction`` of its start value."""
        start = self.y0[self.n_states + self.substrate_index]
        return float(
            y[self.n_states + self.substrate_index] - self.settings.exhaustion_fraction * start
        )

    def positivity_event(self, t: float, y: np.ndarray) -> float:
        """Zero when a state falls below zero by its absolute tolerance.

        Values within the absolute tolerance of zero are zero to the solver's precision (a
        depleted metabolite); the rate laws see them at the floor. Anything lower is a
        negative concentration and ends the run.
        """
        return float(np.min(y / self.y0) + self.settings.atol_fraction)


@dataclass
class BatchResult:
    """One simulation: ``time_course`` (columns time_h, biomass_gDW_per_L,
    growth_rate_per_h, one ``<id>_mmol_per_L`` per dynamic extracellular metabolite) and the
    ``summary`` row (see :func:`simulate_batch`)."""

    time_course: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _base_summary(system: BioreactorModel) -> dict[str, Any]:
    kinetic_model = system.kinetic_model
    return {
        "steady_state": system.steady_state,
        "sample_id": kinetic_model.sample_ids[system.steady_state],
        "substrate": system.substrate,
        "steady_state_growth_rate_per_h": float(kinetic_model.growth_rate[system.steady_state]),
        "initial_biomass_gDW_per_L": system.settings.initial_biomass_gDW_per_L,
        "initial_substrate_mmol_per_L": float(
            1e3 * system.y0[system.n_states + system.substrate_index]
        ),
    }


def _failure(system: BioreactorModel, status: str, message: str, wall: float) -> BatchResult:
    summary = _base_summary(system) | {
        "status": status,
        "reached_exhaustion": False,
        "exhaustion_time_h": math.nan,
        "end_time_h": 0.0,
        "final_biomass_gDW_per_L": math.nan,
        "yield_gDW_per_mmol": math.nan,
        "substrate_consumed_mmol_per_L": math.nan,
        "initial_growth_rate_per_h": math.nan,
        "final_growth_rate_per_h": math.nan,
        "lowest_intracellular": "",
        "lowest_intracellular_fold": math.nan,
        "substrate_balance_error": math.nan,
        "product_balance_error": math.nan,
        "n_steps": 0,
        "wall_s": wall,
        "message": message,
    }
    for metabolite in system.extracellular:
        summary[BALANCE_PREFIX + metabolite] = math.nan
    columns = ["time_h", "biomass_gDW_per_L", "growth_rate_per_h"] + [
        concentration_column(m) for m in system.extracellular
    ]
    return BatchResult(pd.DataFrame(columns=columns), summary)


def _terminal_event(function: Any) -> Any:
    """A terminal event for solve_ivp that fires when ``function`` falls through zero."""

    def event(t: float, y: np.ndarray) -> float:
        return function(t, y)

    event.terminal = True  # type: ignore[attr-defined]
    event.direction = -1  # type: ignore[attr-defined]
    return event


def exchange_integrals(system: BioreactorModel, solution: Any) -> np.ndarray:
    """Quadrature of dS/dt = X q (mol/L medium) over the run, per dynamic extracellular
    metabolite, from the solver's dense output (5-point Gauss-Legendre per solver step)."""
    steps = np.asarray(solution.t, dtype=float)
    left, right = steps[:-1], steps[1:]
    keep = right > left
    left, right = left[keep], right[keep]
    half = 0.5 * (right - left)
    nodes = (0.5 * (left + right))[:, None] + half[:, None] * _GAUSS_NODES[None, :]
    states = solution.sol(nodes.ravel())  # [size, points]
    integrand = np.empty((system.n_extracellular, states.shape[1]))
    for k in range(states.shape[1]):
        y = states[:, k]
        # X q with q in mol/gDW/h equals (X / rho) N_S v.
        integrand[:, k] = y[-1] * 1e-3 * system.specific_exchange(y)
    weights = (half[:, None] * _GAUSS_WEIGHTS[None, :]).ravel()
    return integrand @ weights


def simulate_batch(
    kinetic_model: KineticModel,
    steady_state: int,
    ln_km: np.ndarray,
    settings: BioreactorSettings | Mapping[str, Any] | None = None,
) -> BatchResult:
    """Simulate one model in batch culture until substrate exhaustion or the maximum time.

    Parameters
    ----------
    kinetic_model
        The environment's kinetic model.
    steady_state
        Position of the steady state (start of the intracellular and extracellular states).
    ln_km
        ln of Km (mol/L) in the kinetic model's parameter order.
    settings
        :class:`BioreactorSettings`, a workflow config, or None for the defaults.

    Returns
    -------
    BatchResult
        Summary keys: steady_state, sample_id, substrate, status (``exhausted``,
        ``max_time_reached``, ``non_positive_concentration``, ``solver_failed``,
        ``invalid_parameters``), reached_exhaustion, exhaustion_time_h, end_time_h,
        final_biomass_gDW_per_L, yield_gDW_per_mmol, substrate_consumed_mmol_per_L,
        initial_growth_rate_per_h, steady_state_growth_rate_per_h, substrate_balance_error,
        product_balance_error (largest over the other dynamic metabolites; NaN if none),
        ``balance_error:<id>`` per metabolite (relative), n_steps, wall_s, message.
    """
    start = time.perf_counter()
    system = BioreactorModel(kinetic_model, steady_state, ln_km, settings)
    settings = system.settings
    if not (np.all(np.isfinite(system.nonlinear.vmax)) and np.all(system.nonlinear.vmax > 0)):
        return _failure(
            system,
            INVALID_PARAMETERS,
            "Vmax is not finite and positive for these Km",
            time.perf_counter() - start,
        )
    events = [_terminal_event(system.exhaustion_event), _terminal_event(system.positivity_event)]
    try:
        solution = solve_ivp(
            system.rhs,
            (0.0, settings.max_time_h),
            system.y0,
            method=settings.method,
            jac=system.jac,
            events=events,
            dense_output=True,
            rtol=settings.rtol,
            atol=settings.atol_fraction * system.y0,
        )
    except (
        ValueError,
        ArithmeticError,
        np.linalg.LinAlgError,
        EvaluationBudgetExceeded,
    ) as error:
        return _failure(
            system, SOLVER_FAILED, f"{type(error).__name__}: {error}", time.perf_counter() - start
        )

    t_end = float(solution.t[-1])
    y_end = solution.y[:, -1]
    exhausted = solution.status == 1 and len(solution.t_events[0]) > 0
    if exhausted:
        status, message = EXHAUSTED, "substrate exhausted"
    elif solution.status == 1:
        index = int(np.argmin(y_end / system.y0))
        status = NON_POSITIVE
        message = (
            f"state {system.names[index]} fell below zero (beyond its absolute tolerance) "
            f"at t = {t_end:.4g} h"
        )
    elif solution.status == 0:
        status = MAX_TIME
        remaining = (
            y_end[system.n_states + system.substrate_index]
            / system.y0[system.n_states + system.substrate_index]
        )
        message = f"substrate at {100 * remaining:.3g} % of its start after {settings.max_time_h} h"
        initial_growth = system.growth_rate(system.y0)
        final_growth = system.growth_rate(y_end)
        if final_growth < 1e-3 * initial_growth:
            lowest = int(np.argmin(y_end[: system.n_states] / system.y0[: system.n_states]))
            message += (
                f"; growth stopped (mu = {final_growth:.3g} 1/h), lowest intracellular "
                f"{system.names[lowest]} at {y_end[lowest] / system.y0[lowest]:.3g} of its start"
            )
    else:
        status = SOLVER_FAILED
        message = str(solution.message)
        if system.last_invalid is not None:
            when, name, value = system.last_invalid
            message += (
                f"; last state tried with a non-positive concentration: {name} = {value:.3g} "
                f"at t = {when:.4g} h"
            )

    summary = _base_summary(system)
    extracellular = slice(system.n_states, system.n_states + system.n_extracellular)
    change = y_end[extracellular] - system.y0[extracellular]  # mol/L medium
    if len(solution.t) > 1:
        integral = exchange_integrals(system, solution)
    else:
        integral = np.zeros_like(change)
    floor = settings.atol_fraction * system.y0[extracellular]
    balance = np.abs(change - integral) / np.maximum(
        np.maximum(np.abs(change), np.abs(integral)), floor
    )
    consumed = float(-1e3 * change[system.substrate_index])  # mmol/L
    lowest_intracellular = int(np.argmin(y_end[: system.n_states] / system.y0[: system.n_states]))
    biomass_end = float(y_end[-1])
    others = [i for i in range(system.n_extracellular) if i != system.substrate_index]
    summary |= {
        "status": status,
        "reached_exhaustion": bool(exhausted),
        "exhaustion_time_h": t_end if exhausted else math.nan,
        "end_time_h": t_end,
        "final_biomass_gDW_per_L": biomass_end,
        "yield_gDW_per_mmol": (
            (biomass_end - settings.initial_biomass_gDW_per_L) / consumed
            if consumed > 0
            else math.nan
        ),
        "substrate_consumed_mmol_per_L": consumed,
        "initial_growth_rate_per_h": system.growth_rate(system.y0),
        "final_growth_rate_per_h": system.growth_rate(y_end),
        "lowest_intracellular": system.names[lowest_intracellular],
        "lowest_intracellular_fold": float(
            y_end[lowest_intracellular] / system.y0[lowest_intracellular]
        ),
        "substrate_balance_error": float(balance[system.substrate_index]),
        "product_balance_error": float(balance[others].max()) if others else math.nan,
        "n_steps": len(solution.t) - 1,
        "wall_s": time.perf_counter() - start,
        "message": message,
    }
    for metabolite, error in zip(system.extracellular, balance, strict=True):
        summary[BALANCE_PREFIX + metabolite] = float(error)
    return BatchResult(_time_course(system, solution, t_end), summary)


def _time_course(system: BioreactorModel, solution: Any, t_end: float) -> pd.DataFrame:
    times = np.linspace(0.0, t_end, system.settings.n_time_points)
    states = solution.sol(times) if t_end > 0 else system.y0[:, None]
    times = times if t_end > 0 else np.zeros(1)
    states[:, -1 if t_end > 0 else 0] = solution.y[:, -1]  # the exact end state
    n = system.n_states
    frame = {
        "time_h": times,
        "biomass_gDW_per_L": states[-1],
        "growth_rate_per_h": [system.growth_rate(states[:, k]) for k in range(states.shape[1])],
    }
    for i, metabolite in enumerate(system.extracellular):
        frame[concentration_column(metabolite)] = 1e3 * states[n + i]
    return pd.DataFrame(frame)


# --------------------------------------------------------------------------------------------
# Ensembles


def _simulate_task(task: tuple) -> tuple[Any, BatchResult]:
    kinetic_model, label, steady_state, ln_km, settings = task
    return label, simulate_batch(kinetic_model, steady_state, ln_km, settings)


def simulate_ensemble(
    kinetic_model: KineticModel,
    parameter_sets: Sequence[tuple[int, np.ndarray]],
    settings: BioreactorSettings | Mapping[str, Any] | None = None,
    labels: Sequence[Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate every (steady-state position, ln Km) of an ensemble in batch culture.

    Runs ``settings.processes`` worker processes (forked; 1 = in this process) and logs
    progress. Bad parameter sets do not raise: their summary row carries the status and the
    reason.

    Returns
    -------
    time_courses
        Wide form: model, time_h, biomass_gDW_per_L, growth_rate_per_h and one
        ``<id>_mmol_per_L`` column per dynamic extracellular metabolite;
        ``settings.n_time_points`` rows per model, evenly spaced from 0 to the end time.
    summary
        One row per model: model, steady_state, sample_id, substrate, status,
        reached_exhaustion, exhaustion_time_h, final_biomass_gDW_per_L, yield_gDW_per_mmol,
        balance errors, ... (see :func:`simulate_batch`).
    """
    settings = as_bioreactor_settings(settings)
    labels = list(range(len(parameter_sets))) if labels is None else list(labels)
    if len(labels) != len(parameter_sets):
        raise ValueError(
            f"simulate_ensemble: {len(labels)} labels for {len(parameter_sets)} parameter sets"
        )
    n_parameters = len(kinetic_model.parameters)
    tasks = []
    for label, (steady_state, ln_km) in zip(labels, parameter_sets, strict=True):
        ln_km = np.asarray(ln_km, dtype=float)
        if ln_km.shape != (n_parameters,):
            raise ValueError(
                f"environment {kinetic_model.environment!r}, model {label!r}: ln_km needs "
                f"shape ({n_parameters},), got {ln_km.shape}"
            )
        tasks.append((kinetic_model, label, int(steady_state), ln_km, settings))
    substrate = resolve_substrate(kinetic_model, settings)  # config errors before any work
    logger.info(
        "%s: bioreactor simulation of %d models (substrate %s, %d processes)",
        kinetic_model.environment,
        len(tasks),
        substrate,
        settings.processes,
    )
    results: list[tuple[Any, BatchResult]] = []
    if settings.processes > 1 and len(tasks) > 1:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(settings.processes, mp_context=context) as pool:
            for result in pool.map(_simulate_task, tasks):
                results.append(result)
                _progress(kinetic_model.environment, results, len(tasks))
    else:
        for task in tasks:
            results.append(_simulate_task(task))
            _progress(kinetic_model.environment, results, len(tasks))
    courses = []
    rows = []
    for label, result in results:
        course = result.time_course.copy()
        course.insert(0, "model", label)
        courses.append(course)
        rows.append({"model": label} | result.summary)
    # An empty ensemble (no valid model found) still gets the columns readers look up.
    summary = pd.DataFrame(
        rows, columns=None if rows else ["model", "steady_state", "substrate", "status"]
    )
    # Failed models have no time course; empty frames would only upset pandas' dtype logic.
    filled = [course for course in courses if len(course)]
    time_courses = (
        pd.concat(filled, ignore_index=True)
        if filled
        else pd.DataFrame(columns=courses[0].columns if courses else ["model"])
    )
    if len(summary):
        logger.info(
            "%s: %d/%d models reached substrate exhaustion; median %.3g s per model",
            kinetic_model.environment,
            int(summary["reached_exhaustion"].sum()),
            len(summary),
            float(summary["wall_s"].median()),
        )
    return time_courses, summary


def _progress(environment: str, results: list, total: int) -> None:
    done = len(results)
    label, result = results[-1]
    logger.debug("%s: model %r %s", environment, label, result.summary.get("status"))
    if done == total or done % max(1, total // 20) == 0:
        logger.info("%s: bioreactor %d/%d models done", environment, done, total)
