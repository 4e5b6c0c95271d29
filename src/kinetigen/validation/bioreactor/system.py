"""The batch-culture ODE system of one parameterised kinetic model (rates, Jacobian, events)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kinetigen.kinetics import KineticModel, NonlinearModel
from kinetigen.settings import BioreactorSettings
from kinetigen.validation.bioreactor.medium import (
    as_bioreactor_settings,
    dynamic_extracellular,
    exchange_stoichiometry,
    resolve_substrate,
)

CONFIG_SECTION = BioreactorSettings.SECTION

# Rate laws see concentrations no lower than this fraction of their start (see
# BioreactorModel._evaluation_state).
FLOOR_FRACTION = 1.0e-20


class EvaluationBudgetExceeded(RuntimeError):
    """The solver needed more right-hand-side evaluations than ``max_rhs_evaluations``."""


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
        # mu = growth_weights . v / flux_to_molar_rate (KineticModel.growth_weights: the
        # biomass reaction, or the carbon-weighted mean of its per-substrate drains).
        self.growth_weights = kinetic_model.growth_weights()
        if not self.growth_weights.any():
            raise ValueError(
                f"environment {kinetic_model.environment!r}: biomass reaction {biomass!r} is "
                "not active in the kinetic model, so nothing grows"
            )
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
        self.exchange_stoichiometry = exchange_stoichiometry(kinetic_model, self.extracellular)
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
        """mu (1/h): the growth flux (``KineticModel.growth_weights``) in mmol/gDW/h."""
        return float(self.growth_weights @ self.rates(y) / self.flux_to_molar_rate)

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
                [biomass * (self.growth_weights @ rates) / self.flux_to_molar_rate],
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
        jacobian[-1, : n + m] = biomass * (self.growth_weights @ dv) / self.flux_to_molar_rate
        jacobian[-1, -1] = (self.growth_weights @ rates) / self.flux_to_molar_rate
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
