"""Batched reduced Jacobians and their largest eigenvalue (torch, float64, CPU or CUDA).

For a batch of Km vectors and steady-state positions the Jacobian at the steady state is

    J_red = N_I diag(v) E diag(1/x) L,    L = [I; L0] (moiety link matrix),

with E = d ln v / d ln x the elasticities. Because the rates equal the sample's fluxes by
construction (Vmax), only E depends on Km; it is sparse (one entry per reaction-metabolite
pair), so J_red is a fixed sparse linear map of the weighted entries v_k E_k / x_k. Building a
batch of J_red therefore costs a few elementwise operations and one sparse product, small next
to the batched eigenvalue call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from kinetigen.kinetics.structure import KineticModel

logger = logging.getLogger(__name__)

DTYPE = torch.float64


@contextmanager
def _intra_op_threads(device: torch.device, threads: int | None) -> Iterator[None]:
    """Temporarily set torch's CPU intra-op threads (no-op on CUDA or for None)."""
    previous = torch.get_num_threads()
    if device.type != "cpu" or threads is None or threads == previous:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _tensor(value: Any, device: torch.device, dtype: torch.dtype = DTYPE) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(value), dtype=dtype, device=device)


class BatchedJacobian:
    """Batched evaluation of one environment's kinetic model at its steady states.

    Parameters
    ----------
    model
        The environment's kinetic model (structure and steady states).
    device
        torch device ("cpu", "cuda", ...).
    shared_index
        Positions of ``model.parameters`` in a shared parameter vector
        (:meth:`ParameterSpace.index_of`); with it, inputs are shared-space vectors.
    cpu_threads
        CPU threads of one evaluation. torch's batched eigensolver works matrix by matrix on
        one core, so with N > 1 threads the batch is cut into N chunks solved side by side
        (torch releases the GIL). The Jacobian build itself always runs on one intra-op
        thread (restored afterwards): it is too small to gain, and threaded elementwise
        kernels stall badly whenever cores are shared (several Snakemake jobs). None leaves
        torch's own setting and solves the batch in one call.

    Inputs of the evaluation methods: ``ln_km`` [B, P] (ln of Km in mol/L) and
    ``steady_state`` [B] positions of steady states in ``model`` (an int broadcasts).
    """

    def __init__(
        self,
        model: KineticModel,
        device: str | torch.device = "cpu",
        shared_index: np.ndarray | None = None,
        cpu_threads: int | None = 1,
    ) -> None:
        self.model = model
        self.device = torch.device(device)
        self.cpu_threads = cpu_threads
        self._eig_workers = cpu_threads or 1
        self._build_threads = None if cpu_threads is None else 1
        layout = model.layout
        n_reactions = len(model.rate_laws)
        n_entries = len(layout.entry_reaction)
        self.n_parameters = len(model.parameters)
        self.size = model.n_reduced
        self.shared_index = (
            None if shared_index is None else _tensor(shared_index, self.device, torch.long)
        )
        settings = model.settings
        ln_x = model.ln_concentration
        flux = model.flux

        # Per steady state: ln x of each parameter's metabolite, and the Km-independent part
        # of each elasticity entry (numerator exponents and the thermodynamic term).
        base = np.zeros((model.n_steady_states, n_entries))
        substrate_entries = (layout.param_entry >= 0) & layout.param_substrate
        np.add.at(
            base,
            (slice(None), layout.param_entry[substrate_entries]),
            layout.param_exponent[substrate_entries].astype(float),
        )
        oriented_dg = layout.direction * np.nan_to_num(model.dg)
        # Gamma/(1-Gamma) with Gamma = exp(direction dG/RT) < 1, written with expm1.
        with np.errstate(divide="ignore", over="ignore"):
            gamma_ratio = 1.0 / np.expm1(-oriented_dg / settings.rt)
        state_thermo = layout.thermo_entry >= 0
        np.add.at(
            base,
            (slice(None), layout.thermo_entry[state_thermo]),
            -layout.thermo_coefficient[state_thermo]
            * gamma_ratio[:, layout.thermo_reaction[state_thermo]],
        )
        with np.errstate(divide="ignore"):
            ln_one_minus_gamma = np.where(
                layout.reversible, np.log(-np.expm1(oriented_dg / settings.rt)), 0.0
            )
        weight = flux[:, layout.entry_reaction] / np.exp(ln_x[:, layout.entry_state])

        self._ln_x_param = _tensor(ln_x[:, layout.param_metabolite], self.device)
        self._base = _tensor(base, self.device)
        self._weight = _tensor(weight, self.device)
        self._ln_abs_flux = _tensor(np.log(np.abs(flux)), self.device)
        self._ln_one_minus_gamma = _tensor(ln_one_minus_gamma, self.device)
        self._exponent = _tensor(layout.param_exponent, self.device)
        self._max_exponent = int(layout.param_exponent.max(initial=1))
        self._param_reaction = _tensor(layout.param_reaction, self.device, torch.long)
        # Side of each parameter's reactant: substrates of reaction j go to column j,
        # products to column R + j (segment sums by index_add, linear in the batch).
        side = layout.param_reaction + n_reactions * (~layout.param_substrate)
        self._side = _tensor(side, self.device, torch.long)
        self._numerator_exponent = _tensor(
            np.where(layout.param_substrate, layout.param_exponent, 0), self.device
        )
        self._reversible = _tensor(layout.reversible, self.device)
        self._state_params = _tensor(
            np.flatnonzero(layout.param_entry >= 0), self.device, torch.long
        )
        self._state_param_entry = _tensor(
            layout.param_entry[layout.param_entry >= 0], self.device, torch.long
        )
        self._n_reactions = n_reactions
        self._jacobian_map = self._build_jacobian_map()

    def _build_jacobian_map(self) -> torch.Tensor:
        """Sparse [n*n, entries] matrix: flat J_red = map @ (v_k E_k / x_k)."""
        model = self.model
        layout = model.layout
        n = self.size
        link_full = self.link_matrix()
        reduced_stoichiometry = self.reduced_stoichiometry()
        rows, cols, values = [], [], []
        for k, (reaction, state) in enumerate(
            zip(layout.entry_reaction, layout.entry_state, strict=True)
        ):
            out_rows = np.flatnonzero(reduced_stoichiometry[:, reaction])
            in_cols = np.flatnonzero(link_full[state])
            for i in out_rows:
                for j in in_cols:
                    rows.append(i * n + j)
                    cols.append(k)
                    values.append(reduced_stoichiometry[i, reaction] * link_full[state, j])
        indices = torch.tensor(np.array([rows, cols], dtype=np.int64).reshape(2, -1))
        matrix = torch.sparse_coo_tensor(
            indices,
            torch.tensor(values, dtype=DTYPE),
            size=(n * n, len(layout.entry_reaction)),
            check_invariants=False,
        )
        return matrix.coalesce().to(self.device)

    def link_matrix(self) -> np.ndarray:
        """Full link matrix L = dx / dx_I [states, n]: identity rows for the independent
        states, ``model.link`` (L0) rows for the dependent ones (x_D = totals + L0 x_I)."""
        model = self.model
        link_full = np.zeros((len(model.states), self.size))
        link_full[model.independent, np.arange(self.size)] = 1.0
        link_full[model.dependent] = model.link
        return link_full

    def reduced_stoichiometry(self) -> np.ndarray:
        """N_R: the stoichiometry rows of the independent states [n, reactions]."""
        return self.model.stoichiometry[self.model.independent]

    # --- inputs ---------------------------------------------------------------------------
    def _inputs(self, ln_km: Any, steady_state: Any) -> tuple[torch.Tensor, torch.Tensor]:
        ln_km = _tensor(ln_km, self.device)
        if ln_km.ndim == 1:
            ln_km = ln_km[None, :]
        if self.shared_index is not None:
            ln_km = ln_km[:, self.shared_index]
        if ln_km.shape[1] != self.n_parameters:
            raise ValueError(
                f"environment {self.model.environment!r}: ln_km has {ln_km.shape[1]} "
                f"parameters, the model has {self.n_parameters}"
            )
        steady_state = _tensor(steady_state, self.device, torch.long)
        if steady_state.ndim == 0:
            steady_state = steady_state.expand(ln_km.shape[0])
        if steady_state.shape != (ln_km.shape[0],):
            raise ValueError("steady_state needs one position per Km vector")
        if len(steady_state) and (
            int(steady_state.min()) < 0 or int(steady_state.max()) >= self.model.n_steady_states
        ):
            raise IndexError(
                f"environment {self.model.environment!r}: steady-state position out of range"
            )
        return ln_km, steady_state

    # --- evaluation -----------------------------------------------------------------------
    def _saturation_terms(
        self, ln_km: torch.Tensor, steady_state: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        ln_u = self._ln_x_param.index_select(0, steady_state) - ln_km
        u = torch.exp(ln_u)
        polynomial = torch.ones_like(u)
        u_dpolynomial = torch.zeros_like(u)
        if self._max_exponent == 1:
            polynomial = polynomial + u
            u_dpolynomial = u
        else:
            power = torch.ones_like(u)
            for k in range(1, self._max_exponent + 1):
                power = power * u
                active = (self._exponent >= k).to(DTYPE)
                polynomial = polynomial + active * power
                u_dpolynomial = u_dpolynomial + (k * active) * power
        ln_polynomial = torch.log(polynomial)
        ln_side = torch.zeros(
            (len(u), 2 * self._n_reactions), dtype=DTYPE, device=self.device
        ).index_add_(1, self._side, ln_polynomial)
        side = torch.exp(ln_side)
        n = self._n_reactions
        denominator = side[:, :n] + self._reversible * (side[:, n:] - 1.0)
        return {
            "ln_u": ln_u,
            "ln_polynomial": ln_polynomial,
            "u_dpolynomial": u_dpolynomial,
            "ln_side": ln_side,
            "denominator": denominator,
        }

    def _entries(self, terms: dict[str, torch.Tensor], steady_state: torch.Tensor) -> torch.Tensor:
        """Elasticity entries E_k (d ln v / d ln x), [B, entries]."""
        saturation_part = (
            torch.exp(terms["ln_side"].index_select(1, self._side) - terms["ln_polynomial"])
            * terms["u_dpolynomial"]
            / terms["denominator"].index_select(1, self._param_reaction)
        )
        entries = self._base.index_select(0, steady_state)
        entries.index_add_(
            1,
            self._state_param_entry,
            saturation_part.index_select(1, self._state_params),
            alpha=-1,
        )
        return entries

    def jacobian(self, ln_km: Any, steady_state: Any) -> torch.Tensor:
        """Reduced Jacobians [B, n, n] (1/h) at the steady states; NaN-filled where ln_km is
        not finite."""
        ln_km, steady_state = self._inputs(ln_km, steady_state)
        with _intra_op_threads(self.device, self._build_threads):
            jacobian, finite = self._jacobian(ln_km, steady_state)[:2]
            if not bool(finite.all()):
                jacobian = torch.where(finite[:, None, None], jacobian, torch.nan)
        return jacobian

    def _jacobian(
        self, ln_km: torch.Tensor, steady_state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Jacobians, a mask of finite ones, elasticity entries and intermediate terms.

        J is a linear map of the weighted entries, so checking those [B, entries] is enough
        (and ten times cheaper than checking J). A non-finite ln Km makes a parameter set
        invalid even where the limit of J would be finite.
        """
        terms = self._saturation_terms(ln_km, steady_state)
        entries = self._entries(terms, steady_state)
        weighted = entries * self._weight.index_select(0, steady_state)
        finite = torch.isfinite(weighted).all(dim=1) & torch.isfinite(ln_km).all(dim=1)
        flat = torch.sparse.mm(self._jacobian_map, weighted.T)
        jacobian = flat.T.reshape(-1, self.size, self.size)
        return jacobian, finite, entries, terms

    def elasticities(self, ln_km: Any, steady_state: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled elasticities E = d ln v / d ln x [B, reactions, states] (dense, the same
        entries as the Jacobian's) and a mask [B] of the finite ones; no eigenvalues."""
        ln_km, steady_state = self._inputs(ln_km, steady_state)
        with _intra_op_threads(self.device, self._build_threads):
            terms = self._saturation_terms(ln_km, steady_state)
            entries = self._entries(terms, steady_state)
            finite = torch.isfinite(entries).all(dim=1) & torch.isfinite(ln_km).all(dim=1)
            return self._dense(entries), finite

    def _dense(self, entries: torch.Tensor) -> torch.Tensor:
        """Elasticity entries [B, entries] as dense matrices [B, reactions, states]."""
        layout = self.model.layout
        dense = torch.zeros(
            (len(entries), self._n_reactions, len(self.model.states)),
            dtype=DTYPE,
            device=self.device,
        )
        dense[:, layout.entry_reaction, layout.entry_state] = entries
        return dense

    def lambda_max(self, ln_km: Any, steady_state: Any) -> torch.Tensor:
        """Largest real part of the reduced Jacobian's eigenvalues [B] (1/h); +inf where
        ln_km, the Jacobian or its eigenvalues are not finite."""
        ln_km, steady_state = self._inputs(ln_km, steady_state)
        with _intra_op_threads(self.device, self._build_threads):
            jacobian, finite = self._jacobian(ln_km, steady_state)[:2]
            return largest_real_eigenvalue(jacobian, finite, self._eig_workers)[0]

    def evaluate(self, ln_km: Any, steady_state: Any) -> dict[str, torch.Tensor]:
        """Everything for a batch: ``vmax`` [B, R] (mol/L/h), ``elasticities`` [B, R, states]
        (d ln v / d ln x, dense), ``jacobian`` [B, n, n], ``eigenvalues`` [B, n] (complex),
        ``lambda_max`` [B] (1/h)."""
        ln_km, steady_state = self._inputs(ln_km, steady_state)
        with _intra_op_threads(self.device, self._build_threads):
            return self._evaluate(ln_km, steady_state)

    def _evaluate(self, ln_km: torch.Tensor, steady_state: torch.Tensor) -> dict[str, torch.Tensor]:
        jacobian, finite, entries, terms = self._jacobian(ln_km, steady_state)
        lambda_max, eigenvalues = largest_real_eigenvalue(jacobian, finite, self._eig_workers)
        if not bool(finite.all()):
            jacobian = torch.where(finite[:, None, None], jacobian, torch.nan)
        dense = self._dense(entries)
        ln_numerator = torch.zeros_like(terms["denominator"]).index_add_(
            1, self._param_reaction, terms["ln_u"] * self._numerator_exponent
        )
        ln_vmax = (
            self._ln_abs_flux[steady_state]
            - ln_numerator
            - self._ln_one_minus_gamma[steady_state]
            + torch.log(terms["denominator"])
        )
        return {
            "vmax": torch.exp(ln_vmax),
            "elasticities": dense,
            "jacobian": jacobian,
            "eigenvalues": eigenvalues,
            "lambda_max": lambda_max,
        }


# Below this many matrices per chunk, thread hand-off costs more than it saves.
MIN_MATRICES_PER_WORKER = 64
_POOLS: dict[int, ThreadPoolExecutor] = {}


def batched_eigvals(matrices: torch.Tensor, workers: int = 1) -> torch.Tensor:
    """torch.linalg.eigvals of a batch [B, n, n], on CPU split over ``workers`` threads.

    Each matrix is solved on its own, so the result does not depend on the split.
    """
    workers = min(int(workers), len(matrices) // MIN_MATRICES_PER_WORKER)
    if workers <= 1 or matrices.device.type != "cpu":
        return torch.linalg.eigvals(matrices)
    pool = _POOLS.get(workers)
    if pool is None:
        pool = _POOLS.setdefault(workers, ThreadPoolExecutor(workers, "eigvals"))
    return torch.cat(list(pool.map(torch.linalg.eigvals, torch.tensor_split(matrices, workers))))


def largest_real_eigenvalue(
    jacobian: torch.Tensor, finite: torch.Tensor | None = None, workers: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """max Re(eig) per matrix of a batch [B, n, n] and the eigenvalues; non-finite -> +inf.

    One batched eigenvalue call (split over ``workers`` CPU threads, see
    :func:`batched_eigvals`). ``finite`` [B] marks matrices known to be finite (computed
    here when not given); the others are replaced by zeros before the call (so LAPACK never
    sees NaN) and reported as +inf, as are matrices whose eigenvalues are not finite.
    """
    if finite is None:
        finite = torch.isfinite(jacobian).flatten(1).all(dim=1)
    all_finite = bool(finite.all())
    safe = jacobian if all_finite else torch.where(finite[:, None, None], jacobian, 0.0)
    try:
        eigenvalues = batched_eigvals(safe, workers)
    except RuntimeError as error:  # LAPACK failed to converge for some matrix
        logger.warning("batched eigvals failed (%s); evaluating one by one", error)
        eigenvalues = torch.full(
            safe.shape[:2], complex("nan"), dtype=torch.complex128, device=safe.device
        )
        for b in range(len(safe)):
            try:
                eigenvalues[b] = torch.linalg.eigvals(safe[b])
            except RuntimeError:
                pass
    if safe.shape[-1] == 0:
        lambda_max = torch.full(finite.shape, float("-inf"), dtype=DTYPE, device=safe.device)
    else:
        lambda_max = eigenvalues.real.amax(dim=-1)
    # A non-finite eigenvalue makes the real maximum NaN or +-inf.
    invalid = ~finite | ~torch.isfinite(lambda_max)
    if safe.shape[-1] == 0:
        invalid = ~finite
    return torch.where(invalid, torch.inf, lambda_max), eigenvalues
