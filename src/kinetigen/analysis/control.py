"""Scaled flux and concentration control coefficients with respect to enzyme levels, batched.

Notation as in :mod:`kinetigen.kinetics.batched` (DESIGN.md 2.4). The states x (the kinetic
model's ``states``, mol/L) split into independent states x_I (n of them) and dependent ones,
x_D = T + L0 x_I with constant moiety totals T; L = dx/dx_I is the full link matrix (identity
rows for x_I, L0 rows for x_D, :meth:`BatchedJacobian.link_matrix`). Boundary metabolites
(extracellular, H+, H2O and the small molecules held constant) are parameters, not states.
Each rate is proportional to its enzyme level, v_j = e_j vhat_j(x) with e_j = Vmax_j, and N_R
(the stoichiometry rows of x_I) gives the steady state, N_R v = 0 (N_D = L0 N_R, so the
dependent rows add nothing). V = diag(v), X = diag(x), X_I = diag(x_I), and
E = d ln v / d ln x [reactions, states] are the scaled elasticities of the reduced Jacobian
J_red = N_R V E X^-1 L.

Derivation. Change ln e_k at a steady state. Since d ln v_j / d ln e_k = delta_jk,

    d ln v = E d ln x + d ln e,        d ln x = X^-1 L dx_I = Lt d ln x_I,

with the scaled link Lt = X^-1 L X_I (entries L0_di x_i / x_d). The new state is again a
steady state, so 0 = d(N_R v) = N_R V d ln v = N_R V E Lt d ln x_I + N_R V d ln e, and with

    M = N_R V E Lt = J_red X_I        (n x n; invertible exactly when J_red is)

the scaled control coefficients are

    C^xI = d ln x_I / d ln e = -M^-1 N_R V                      [n, reactions]
    C^x  = d ln x / d ln e   = Lt C^xI = -Lt M^-1 N_R V         [states, reactions]
    C^J  = d ln v / d ln e   = I + E C^x                        [reactions, reactions]

(the issue's C^x = -(N_R V E L)^-1 N_R V is the independent block, with L in scaled form).
Rows are targets (a flux or a concentration), columns the enzyme whose level changes.

Theorems (checked by :meth:`ControlCoefficients.residuals`):

- summation: C^x 1 = -Lt M^-1 N_R v = 0 at a steady state, so every row of C^x sums to 0
  and every row of C^J to 1 (the model's rates are homogeneous of degree 1 in e);
- connectivity: C^x E Lt = -Lt M^-1 M = -Lt and C^J E Lt = E Lt - E Lt = 0 (moiety form:
  a change of the independent concentrations alone leaves no steady-state trace).

Connectivity holds for any invertible M, so it measures the numerics; summation also needs
N_R v = 0, so it measures how well the sampled fluxes balance.

A flux that is a fixed combination of kinetic rates, J_t = w_t . v (the uptake of a boundary
metabolite through its exchange, w_t the metabolite's coefficients), has
C^Jt = (w_t o v) C^J / J_t (:func:`combined_flux_control`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kinetigen.kinetics import BatchedJacobian, KineticModel, NonlinearModel
from kinetigen.kinetics.batched import DTYPE

log = logging.getLogger(__name__)

# Status of one model's coefficients (ControlCoefficients.status).
OK = 0
NON_FINITE_ELASTICITIES = 1
SINGULAR = 2
NON_FINITE_COEFFICIENTS = 3
INACCURATE = 4
STATUS_LABELS = {
    OK: "ok",
    NON_FINITE_ELASTICITIES: "non-finite elasticities",
    SINGULAR: "singular Jacobian",
    NON_FINITE_COEFFICIENTS: "non-finite coefficients",
    INACCURATE: "connectivity residual above tolerance (ill-conditioned)",
}


@dataclass
class ControlCoefficients:
    """Control coefficients of a batch of B models of one environment.

    ``flux`` C^J [B, reactions, reactions] and ``concentration`` C^x [B, states, reactions]
    (targets x enzymes, NaN where ``status`` is not OK); ``elasticities`` E
    [B, reactions, states], ``scaled_link`` Lt [B, states, n]; ``status`` [B] codes of
    :data:`STATUS_LABELS`.
    """

    reactions: list[str]
    states: list[str]
    flux: torch.Tensor
    concentration: torch.Tensor
    elasticities: torch.Tensor
    scaled_link: torch.Tensor
    status: np.ndarray

    def __len__(self) -> int:
        return len(self.status)

    @property
    def ok(self) -> np.ndarray:
        return self.status == OK

    def status_counts(self) -> dict[str, int]:
        """Models per status label (every label listed, zeros included)."""
        return {label: int((self.status == code).sum()) for code, label in STATUS_LABELS.items()}

    def residuals(self) -> dict[str, np.ndarray]:
        """Largest relative violation of each theorem per model [B] (NaN where not OK).

        Summation residuals are divided by the sum of the absolute values of the terms they
        add up (1 included for the flux summation), connectivity residuals by the largest
        such sum in their row (target): the scale of the rounding error. A flux row's scale
        is at least 1 (the size of C^J, whose rows sum to 1): where every term of a row is
        far below 1 (a flux that a constant-rate reaction sets alone, so that C^J_jk E Lt_k
        is rounding noise for every k) the absolute residual is what is left to judge.
        ``flux_summation`` |sum_k C^J_jk - 1|, ``concentration_summation`` |sum_k C^x_ik|,
        ``flux_connectivity`` |C^J E Lt|, ``concentration_connectivity`` |C^x E Lt + Lt|.
        """
        flux, concentration = self.flux, self.concentration
        e_link = self.elasticities @ self.scaled_link
        abs_e_link = self.elasticities.abs() @ self.scaled_link.abs()
        tiny = torch.finfo(DTYPE).tiny
        values = {
            "flux_summation": (flux.sum(-1) - 1).abs() / (flux.abs().sum(-1) + 1),
            "concentration_summation": concentration.sum(-1).abs()
            / concentration.abs().sum(-1).clamp_min(tiny),
            "flux_connectivity": (flux @ e_link).abs()
            / _row_scale(flux.abs() @ abs_e_link, 1.0),
            "concentration_connectivity": (concentration @ e_link + self.scaled_link).abs()
            / _row_scale(concentration.abs() @ abs_e_link + self.scaled_link.abs(), tiny),
        }
        out = {}
        for name, value in values.items():
            worst = (
                value.flatten(1).amax(dim=1) if value[0].numel() else value.new_zeros(len(value))
            )
            out[name] = np.where(self.ok, worst.cpu().numpy(), np.nan)
        return out


def _row_scale(terms: torch.Tensor, floor: float) -> torch.Tensor:
    """Largest absolute term of each row [B, rows, 1], at least ``floor``: the scale of that
    row's rounding."""
    if terms.shape[-1] == 0:
        return terms.new_ones(terms.shape[:-1] + (1,))
    return terms.amax(-1, keepdim=True).clamp_min(floor)


class ControlAnalysis:
    """Batched control coefficients of one environment's kinetic model.

    Uses :class:`BatchedJacobian` for the elasticities and the moiety structure, so the
    coefficients come from the same E, N_R and L as the reduced Jacobian. ``shared_index``
    as in :class:`BatchedJacobian` (inputs in a shared parameter space). A model whose
    connectivity residual exceeds ``residual_tolerance`` is marked :data:`INACCURATE`; with
    ``residual_tolerance=None`` that check (40 % of the cost) is skipped.
    """

    def __init__(
        self,
        model: KineticModel,
        device: str | torch.device = "cpu",
        shared_index: np.ndarray | None = None,
        residual_tolerance: float | None = 1e-6,
    ) -> None:
        self.model = model
        self.jacobian = BatchedJacobian(model, device, shared_index=shared_index, cpu_threads=1)
        device = self.jacobian.device
        self.residual_tolerance = residual_tolerance
        n_states = len(model.states)
        self._reduced_stoichiometry = torch.as_tensor(
            self.jacobian.reduced_stoichiometry(), dtype=DTYPE, device=device
        )
        self._link = torch.as_tensor(self.jacobian.link_matrix(), dtype=DTYPE, device=device)
        self._flux = torch.as_tensor(model.flux, dtype=DTYPE, device=device)
        self._x = torch.as_tensor(
            np.exp(model.ln_concentration[:, :n_states]), dtype=DTYPE, device=device
        )
        self._independent = torch.as_tensor(model.independent, dtype=torch.long, device=device)
        self._dependent = torch.as_tensor(model.dependent, dtype=torch.long, device=device)

    def __call__(
        self, ln_km: Any, steady_state: Any, batch_size: int = 2000
    ) -> ControlCoefficients:
        """Coefficients of every (ln Km [B, P], steady-state position [B]) pair, computed in
        batches of ``batch_size``."""
        ln_km = torch.as_tensor(np.asarray(ln_km), dtype=DTYPE)
        if ln_km.ndim == 1:
            ln_km = ln_km[None]
        steady_state = torch.as_tensor(np.asarray(steady_state), dtype=torch.long)
        if steady_state.ndim == 0:
            steady_state = steady_state.expand(len(ln_km))
        parts = [
            self._batch(ln_km[start : start + batch_size], steady_state[start : start + batch_size])
            for start in range(0, max(len(ln_km), 1), batch_size)
        ]
        if len(parts) == 1:
            return parts[0]
        return ControlCoefficients(
            parts[0].reactions,
            parts[0].states,
            *(torch.cat([getattr(p, k) for p in parts]) for k in _TENSORS),
            np.concatenate([p.status for p in parts]),
        )

    def _batch(self, ln_km: torch.Tensor, steady_state: torch.Tensor) -> ControlCoefficients:
        elasticities, finite = self.jacobian.elasticities(ln_km, steady_state)
        steady_state = steady_state.to(self.jacobian.device)
        flux = self._flux.index_select(0, steady_state)  # [B, R]
        x = self._x.index_select(0, steady_state)  # [B, S]
        scaled_link = self._link[None] * x.index_select(1, self._independent)[:, None, :]
        scaled_link = scaled_link / x[:, :, None]  # Lt = X^-1 L X_I  [B, S, n]
        n_v = self._reduced_stoichiometry[None] * flux[:, None, :]  # N_R V  [B, n, R]
        safe_e = torch.where(finite[:, None, None], elasticities, 0.0)
        e_link = safe_e @ scaled_link  # E Lt  [B, R, n]
        matrix = n_v @ e_link  # M = N_R V E Lt  [B, n, n]
        eye = torch.eye(matrix.shape[-1], dtype=DTYPE, device=matrix.device)
        matrix = torch.where(finite[:, None, None], matrix, eye)
        # Row equilibration (each balance divided by its turnover) keeps LU's pivoting from
        # being steered by flux magnitudes; it changes nothing in exact arithmetic.
        turnover = n_v.abs().sum(-1, keepdim=True).clamp_min(torch.finfo(DTYPE).tiny)
        solved, info = torch.linalg.solve_ex(matrix / turnover, n_v / turnover)
        independent_control = -solved  # C^xI  [B, n, R]
        # C^x = Lt C^xI: the rows of x_I are C^xI itself (Lt's identity rows), only the
        # dependent rows need the product.
        concentration = solved.new_empty(len(solved), len(x[0]), solved.shape[-1])
        concentration[:, self._independent] = independent_control
        concentration[:, self._dependent] = scaled_link[:, self._dependent] @ independent_control
        n_reactions = flux.shape[1]
        flux_control = torch.eye(n_reactions, dtype=DTYPE, device=matrix.device) + (
            e_link @ independent_control  # I + E C^x = I + E Lt C^xI
        )
        status = np.full(len(ln_km), OK)
        status[~finite.cpu().numpy()] = NON_FINITE_ELASTICITIES
        finite_out = (
            (
                torch.isfinite(concentration).flatten(1).all(1)
                & torch.isfinite(flux_control).flatten(1).all(1)
            )
            .cpu()
            .numpy()
        )
        singular = info.cpu().numpy() != 0
        status[(status == OK) & singular] = SINGULAR
        status[(status == OK) & ~finite_out] = NON_FINITE_COEFFICIENTS
        result = ControlCoefficients(
            self.model.reactions,
            self.model.states,
            flux_control,
            concentration,
            elasticities,
            scaled_link,
            status,
        )
        if self.residual_tolerance is not None:
            residuals = result.residuals()
            connectivity = np.fmax(
                residuals["flux_connectivity"], residuals["concentration_connectivity"]
            )
            result.status[(result.status == OK) & ~(connectivity <= self.residual_tolerance)] = (
                INACCURATE
            )
        bad = torch.as_tensor(result.status != OK, device=matrix.device)
        result.flux = torch.where(bad[:, None, None], torch.nan, flux_control)
        result.concentration = torch.where(bad[:, None, None], torch.nan, concentration)
        return result


_TENSORS = ("flux", "concentration", "elasticities", "scaled_link")


def combined_flux_control(
    flux_control: torch.Tensor, flux: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """C^Jt [B, T, reactions] of fluxes J_t = weights_t . v (``weights`` [T, reactions]) from
    C^J [B, reactions, reactions] and the models' rates ``flux`` [B, reactions]:
    C^Jt = (w_t o v) C^J / J_t (NaN where J_t = 0)."""
    weighted = weights[None] * flux[:, None, :]  # [B, T, R]
    total = weighted.sum(-1, keepdim=True)
    return torch.where(total != 0, (weighted @ flux_control) / total, torch.nan)


def control_coefficients_single(
    model: KineticModel, steady_state: int, ln_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(C^J, C^x) of one model in plain numpy, from the nonlinear model's unscaled
    derivatives dv/dx (independent of :class:`BatchedJacobian`; the per-model loop of the
    benchmark and a cross-check of the batched path).

    Unscaled: dx_I/d ln e = -(N_R dv/dx L)^-1 N_R V, dx/d ln e = L dx_I/d ln e; then
    C^x = X^-1 dx/d ln e and C^J = I + V^-1 dv/dx dx/d ln e.
    """
    nonlinear = NonlinearModel(model, steady_state, ln_km)
    rates, derivative = nonlinear.rate_derivatives(nonlinear.x_ref)
    link = np.zeros((len(model.states), model.n_reduced))
    link[model.independent, np.arange(model.n_reduced)] = 1.0
    link[model.dependent] = model.link
    reduced = model.stoichiometry[model.independent]
    dx = link @ np.linalg.solve(reduced @ derivative @ link, -reduced * rates)
    concentration = dx / nonlinear.x_ref[:, None]
    flux = np.eye(len(rates)) + (derivative @ dx) / rates[:, None]
    return flux, concentration


def finite_difference_control(
    model: KineticModel,
    steady_state: int,
    ln_km: np.ndarray,
    enzymes: np.ndarray,
    step: float = 1e-3,
    extrapolate: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Finite differences of the nonlinear model: (C^J [reactions, k], C^x [states, k]) for
    the enzyme columns ``enzymes`` (reaction positions).

    Each Vmax is scaled by 1 + h and 1 - h in turn and the new steady state solved by Newton
    from the old one (:func:`kinetigen.analysis.steady.solve_steady_state`);
    D(h) = (ln y(1+h) - ln y(1-h)) / (ln(1+h) - ln(1-h)). Its error is O(h^2) times the
    third derivative, which on e_coli_core reached 1e-3 of a coefficient at h = 1e-3, so
    with ``extrapolate`` (default) the answer is Richardson's (4 D(h/2) - D(h)) / 3,
    O(h^4). A column whose solve fails is NaN.
    """
    from kinetigen.analysis.steady import solve_steady_state, with_enzyme_levels

    nonlinear = NonlinearModel(model, steady_state, ln_km)
    n_reactions = len(model.rate_laws)

    def central(enzyme: int, h: float) -> tuple[np.ndarray, np.ndarray]:
        logs = []
        for sign in (1.0, -1.0):
            fold = np.ones(n_reactions)
            fold[enzyme] = 1.0 + sign * h
            changed = with_enzyme_levels(nonlinear, fold)
            root = solve_steady_state(changed, nonlinear.x_ref)
            if not root.converged:
                return np.full(n_reactions, np.nan), np.full(len(model.states), np.nan)
            logs.append((np.log(np.abs(changed.rates(root.x))), np.log(root.x)))
        denominator = np.log1p(h) - np.log1p(-h)
        return (logs[0][0] - logs[1][0]) / denominator, (logs[0][1] - logs[1][1]) / denominator

    flux = np.full((n_reactions, len(enzymes)), np.nan)
    concentration = np.full((len(model.states), len(enzymes)), np.nan)
    for column, enzyme in enumerate(enzymes):
        coarse = central(int(enzyme), step)
        if extrapolate:
            fine = central(int(enzyme), step / 2)
            coarse = tuple((4 * f - c) / 3 for f, c in zip(fine, coarse, strict=True))
        flux[:, column], concentration[:, column] = coarse
    return flux, concentration
