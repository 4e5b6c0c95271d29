"""Nonlinear kinetic model of one parameter set: rates, dx/dt and its analytic Jacobian.

Written with numpy for one parameter set, so that scipy's stiff integrators (BDF, LSODA,
Radau) can call ``rhs`` and ``jac`` directly. Concentrations must stay positive (the
thermodynamic term is built from ln x).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from kinetigen.kinetics.structure import KineticModel

RightHandSide = Callable[[float, np.ndarray], np.ndarray]


class RhsBudgetExceeded(RuntimeError):
    """An integration needed more right-hand-side evaluations than its budget."""


class BudgetedRhs:
    """``rhs`` that raises :class:`RhsBudgetExceeded` once called more than
    ``max_evaluations`` times: a budget keeps one pathological model from stalling an
    ensemble for minutes."""

    def __init__(self, rhs: RightHandSide, max_evaluations: int) -> None:
        self.rhs = rhs
        self.max_evaluations = int(max_evaluations)
        self.calls = 0

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls > self.max_evaluations:
            raise RhsBudgetExceeded(f"over {self.max_evaluations} rhs evaluations")
        return self.rhs(t, x)


def solve_within_budget(
    rhs: RightHandSide,
    t_end: float,
    x0: np.ndarray,
    max_rhs_evaluations: int,
    **options: Any,
) -> Any:
    """``solve_ivp(rhs, (0, t_end), x0, **options)`` that raises :class:`RhsBudgetExceeded`
    after ``max_rhs_evaluations`` right-hand-side evaluations."""
    return solve_ivp(BudgetedRhs(rhs, max_rhs_evaluations), (0.0, t_end), x0, **options)


@dataclass(frozen=True)
class IntegrationSettings:
    """How a trajectory of a nonlinear model is integrated: scipy's stiff ``method``, the
    relative tolerance ``rtol``, the absolute tolerance of each state as ``atol_fraction`` of
    its reference concentration, and the budget of right-hand-side evaluations (not a config
    section: each kind of integration fixes its own, next to the reason for its tolerances)."""

    rtol: float
    atol_fraction: float
    method: str = "LSODA"
    max_rhs_evaluations: int = 200_000

    def solve(
        self, rhs: RightHandSide, t_end: float, x0: np.ndarray, x_ref: np.ndarray, **options: Any
    ) -> Any:
        """:func:`solve_within_budget` from ``x0`` to ``t_end`` with these settings (``atol``
        scaled by the reference state ``x_ref``); ``options`` go to solve_ivp (jac, t_eval,
        events)."""
        return solve_within_budget(
            rhs,
            t_end,
            x0,
            self.max_rhs_evaluations,
            method=self.method,
            rtol=self.rtol,
            atol=self.atol_fraction * np.abs(x_ref),
            **options,
        )


class NonlinearModel:
    """dx/dt = N v(x) for steady state ``steady_state`` (position) and Km ``exp(ln_km)``.

    Vmax makes the rates at the steady state equal the sample's fluxes; Keq makes the
    displacement Gamma equal exp(dG/RT) of the sample. The full state vector ``x`` holds the
    concentrations (mol/L) of ``model.states``; time is in hours.

    Attributes
    ----------
    x_ref : steady-state concentrations of the states (mol/L).
    boundary_concentration : constant concentrations of ``model.boundary`` (mol/L).
    vmax : Vmax per reaction (mol/L/h), in the flux direction (always positive).
    ln_keq : ln Keq per reaction in model orientation (NaN for irreversible laws).
    totals : conserved moiety totals of the steady state (mol/L).
    """

    def __init__(self, model: KineticModel, steady_state: int, ln_km: np.ndarray) -> None:
        ln_km = np.asarray(ln_km, dtype=float)
        if ln_km.shape != (len(model.parameters),):
            raise ValueError(
                f"environment {model.environment!r}: ln_km needs shape "
                f"({len(model.parameters)},), got {ln_km.shape}"
            )
        if not 0 <= steady_state < model.n_steady_states:
            raise IndexError(f"steady state position {steady_state} out of range")
        self.model = model
        self.steady_state = steady_state
        layout = model.layout
        self.km = np.exp(ln_km)
        n_reactions = len(model.rate_laws)
        self._n_states = len(model.states)
        self._direction = layout.direction.astype(float)
        self._reversible = layout.reversible.astype(float)
        self._side = layout.param_reaction + n_reactions * (~layout.param_substrate)
        self._numerator_weight = np.where(layout.param_substrate, layout.param_exponent, 0)
        self._max_exponent = int(layout.param_exponent.max(initial=1))
        self.ln_keq = model.ln_keq[steady_state].copy()
        # Flux-oriented ln Keq; irreversible laws have Gamma = 0 (ln Gamma = -inf).
        self._ln_keq_oriented = np.where(
            layout.reversible, self._direction * np.nan_to_num(self.ln_keq), np.inf
        )
        x_all = model.concentrations(steady_state)
        self.x_ref = x_all[: self._n_states].copy()
        self.boundary_concentration = x_all[self._n_states :].copy()
        self.vmax = np.ones(n_reactions)
        unit_rate = self._oriented_rates(self.x_ref)[0]
        self.vmax = np.abs(model.flux[steady_state]) / unit_rate
        self.totals = self.conserved_totals(self.x_ref)

    # --- moieties -----------------------------------------------------------------------
    @property
    def conservation_matrix(self) -> np.ndarray:
        """G with G x = totals for every trajectory ([moieties, states])."""
        model = self.model
        matrix = np.zeros((len(model.dependent), self._n_states))
        matrix[np.arange(len(model.dependent)), model.dependent] = 1.0
        matrix[:, model.independent] = -model.link
        return matrix

    def conserved_totals(self, x: np.ndarray) -> np.ndarray:
        """Moiety totals ``x[dependent] - link @ x[independent]`` (mol/L)."""
        model = self.model
        x = np.asarray(x, dtype=float)
        return x[model.dependent] - model.link @ x[model.independent]

    def reduce(self, x: np.ndarray) -> np.ndarray:
        """Independent part of a full state vector."""
        return np.asarray(x, dtype=float)[self.model.independent]

    def expand(self, x_independent: np.ndarray, totals: np.ndarray | None = None) -> np.ndarray:
        """Full state vector from its independent part and moiety totals (default: the
        steady state's)."""
        model = self.model
        totals = self.totals if totals is None else np.asarray(totals, dtype=float)
        x = np.empty(self._n_states)
        x[model.independent] = x_independent
        x[model.dependent] = totals + model.link @ np.asarray(x_independent, dtype=float)
        return x

    # --- rates ----------------------------------------------------------------------------
    def _boundary(self, boundary: np.ndarray | None) -> np.ndarray:
        """``boundary`` checked for shape, or the steady state's boundary concentrations."""
        if boundary is None:
            return self.boundary_concentration
        boundary = np.asarray(boundary, dtype=float)
        if boundary.shape != self.boundary_concentration.shape:
            raise ValueError(
                f"environment {self.model.environment!r}: boundary concentrations need shape "
                f"{self.boundary_concentration.shape}, got {boundary.shape}"
            )
        return boundary

    def _oriented_rates(
        self, x: np.ndarray, boundary: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rates in the flux direction (>= 0 away from equilibrium) and intermediate terms.

        ``boundary`` replaces the constant boundary concentrations (default: the steady
        state's).
        """
        layout = self.model.layout
        n_reactions = len(self.model.rate_laws)
        x_all = np.concatenate([np.asarray(x, dtype=float), self._boundary(boundary)])
        ln_x = np.log(x_all)
        u = x_all[layout.param_metabolite] / self.km
        polynomial = np.ones_like(u)
        u_dpolynomial = np.zeros_like(u)
        power = np.ones_like(u)
        for k in range(1, self._max_exponent + 1):
            power = power * u
            active = layout.param_exponent >= k
            polynomial = polynomial + np.where(active, power, 0.0)
            u_dpolynomial = u_dpolynomial + np.where(active, k * power, 0.0)
        ln_side = np.bincount(self._side, np.log(polynomial), minlength=2 * n_reactions)
        side = np.exp(ln_side)
        denominator = side[:n_reactions] + self._reversible * (side[n_reactions:] - 1.0)
        ln_numerator = np.bincount(
            layout.param_reaction, self._numerator_weight * np.log(u), minlength=n_reactions
        )
        ln_gamma = (
            np.bincount(
                layout.thermo_reaction,
                layout.thermo_coefficient * ln_x[layout.thermo_metabolite],
                minlength=n_reactions,
            )
            - self._ln_keq_oriented
        )
        gamma = np.exp(ln_gamma)
        saturation = np.exp(ln_numerator) / denominator
        rates = self.vmax * saturation * (1.0 - gamma)
        terms = {
            "x_all": x_all,
            "polynomial": polynomial,
            "u_dpolynomial": u_dpolynomial,
            "side": side,
            "denominator": denominator,
            "saturation": saturation,
            "gamma": gamma,
        }
        return rates, terms

    def rates(self, x: np.ndarray, boundary: np.ndarray | None = None) -> np.ndarray:
        """Net reaction rates (mol/L/h, model orientation) at state concentrations ``x``
        and boundary concentrations ``boundary`` (mol/L, default: the steady state's)."""
        return self._direction * self._oriented_rates(x, boundary)[0]

    def displacement(self, x: np.ndarray) -> np.ndarray:
        """Gamma = Q/Keq in model orientation (NaN for irreversible laws)."""
        gamma_oriented = self._oriented_rates(x)[1]["gamma"]
        with np.errstate(divide="ignore"):
            gamma = np.where(self._direction > 0, gamma_oriented, 1.0 / gamma_oriented)
        return np.where(self.model.layout.reversible, gamma, np.nan)

    def rate_derivatives(
        self, x: np.ndarray, boundary: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rates (mol/L/h) and their derivatives dv/dx ([reactions, states], 1/h); optional
        ``boundary`` concentrations as in :meth:`rates`."""
        rates, derivative = self.rate_derivatives_all(x, boundary)
        return rates, derivative[:, : self._n_states]

    def rate_derivatives_all(
        self, x: np.ndarray, boundary: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rates (mol/L/h) and their derivatives with respect to every metabolite concentration,
        states then boundary (``model.metabolites``; [reactions, metabolites], 1/h).

        ``boundary`` replaces the constant boundary concentrations (default: the steady
        state's), e.g. for a bioreactor where extracellular metabolites change.
        """
        layout = self.model.layout
        oriented, terms = self._oriented_rates(x, boundary)
        x_all = terms["x_all"]
        reaction = layout.param_reaction
        side_product = terms["side"][self._side] / terms["polynomial"]
        elasticity = (
            np.where(layout.param_substrate, layout.param_exponent, 0.0)
            - side_product * terms["u_dpolynomial"] / terms["denominator"][reaction]
        )
        derivative = np.zeros((len(self.model.rate_laws), len(x_all)))
        metabolite = layout.param_metabolite
        np.add.at(
            derivative,
            (reaction, metabolite),
            oriented[reaction] * elasticity / x_all[metabolite],
        )
        # Thermodynamic part written without (1 - Gamma) in a denominator (finite at Gamma=1).
        t_reaction = layout.thermo_reaction
        t_metabolite = layout.thermo_metabolite
        thermo = (
            -self.vmax[t_reaction]
            * terms["saturation"][t_reaction]
            * terms["gamma"][t_reaction]
            * layout.thermo_coefficient
            / x_all[t_metabolite]
        )
        np.add.at(derivative, (t_reaction, t_metabolite), thermo)
        return self._direction * oriented, self._direction[:, None] * derivative

    # --- ODE right-hand sides -------------------------------------------------------------
    def rhs(self, t: float, x: np.ndarray) -> np.ndarray:
        """dx/dt (mol/L/h) of the full state vector."""
        return self.model.stoichiometry @ self.rates(x)

    def jac(self, t: float, x: np.ndarray) -> np.ndarray:
        """Analytic Jacobian d(dx/dt)/dx of the full state vector (1/h)."""
        return self.model.stoichiometry @ self.rate_derivatives(x)[1]

    def rhs_reduced(self, t: float, x_independent: np.ndarray) -> np.ndarray:
        """dx_I/dt with the dependent metabolites fixed by the steady state's totals."""
        x = self.expand(x_independent)
        return self.rhs(t, x)[self.model.independent]

    def jac_reduced(self, t: float, x_independent: np.ndarray) -> np.ndarray:
        """Reduced Jacobian J_I,I + J_I,D L0 at ``x_independent`` (steady-state totals)."""
        model = self.model
        full = self.jac(t, self.expand(x_independent))[model.independent]
        return full[:, model.independent] + full[:, model.dependent] @ model.link
