"""Adaptation in a subspace of the generator's weights (config ``training.adaptation.weights``).

An evolution strategy's progress per model evaluation falls with the number of weights it
searches over: its gradient estimate from a fixed population gets noisier with every extra
dimension. A trained generator already knows how to turn latent noise into diverse kinetic
parameter sets; fitting it to a new environment mostly moves *where* each Km sits. So
adaptation may search a few hundred directions instead of all the weights:

- ``all``: every weight (the generator as trained is the start; D directions);
- ``output``: the output layer's weights and biases;
- ``output_bias``: the output layer's biases (one shift of each Km's logit saturation);
- ``output_affine``: per output a shift and a scale of its pre-activation,
  ``h_p -> (1 + a_p) h_p + b_p`` (2 P directions): each Km's centre and spread.

Fewer directions are not free: on pyruvate_aerobic (README, "Adaptation to a new
environment") both output subspaces reached incidence 0.9 in about a tenth of the model
evaluations of ``all`` by narrowing each steady state's Km towards a point (the monitor's
``monitor_spread``, the median standard deviation of ln Km over latent draws, fell from about
1.1 to 0.05, where ``all`` and a generator trained from scratch keep about 2), and as fast
from a random generator's weights. The reward's spread floor
(``training.adaptation.spread_floor``, :class:`~kinetigen.es.problem.GeneratorProblem`)
closes that way out: with it the trained start keeps its spread and a random one cannot.

Each is an affine map ``weights = start + theta @ basis`` from ``theta`` (d values, 0 at the
start) to the flat weights, so the optimiser searches ``theta`` and the problem scores the
embedded weights: :class:`SubspaceProblem` wraps a :class:`GeneratorProblem`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from kinetigen.es.problem import Batch, EvaluationResult, GeneratorProblem
from kinetigen.generator.model import Generator, unflatten_parameters

SUBSPACES = ("all", "output", "output_bias", "output_affine")


@dataclass(frozen=True)
class WeightSubspace:
    """``weights = start + theta @ basis``: ``start`` [D], ``basis`` sparse [d, D]."""

    start: Tensor
    basis: Tensor
    name: str

    @property
    def n_directions(self) -> int:
        return int(self.basis.shape[0])

    def embed(self, theta: Tensor) -> Tensor:
        """Flat weights [..., D] of subspace coordinates ``theta`` [..., d]."""
        rows = theta.reshape(-1, self.n_directions).to(self.start.dtype)
        weights = self.start + torch.sparse.mm(self.basis.t(), rows.t()).t()
        return weights.reshape(*theta.shape[:-1], -1)


def _sparse_basis(rows: Sequence[int], columns: Sequence[int], values: Tensor, shape) -> Tensor:
    indices = torch.tensor([list(rows), list(columns)], dtype=torch.long)
    return torch.sparse_coo_tensor(indices, values, shape, check_invariants=True).coalesce()


def weight_subspace(generator: Generator, start: Tensor, kind: str) -> WeightSubspace | None:
    """The subspace ``kind`` (one of :data:`SUBSPACES`) around the flat weights ``start``;
    None for ``all`` (search the weights themselves)."""
    if kind not in SUBSPACES:
        raise ValueError(f"weight subspace must be one of {SUBSPACES}, got {kind!r}")
    if kind == "all":
        return None
    start = start.detach().to(torch.float64).flatten().clone()
    n_weights = start.numel()
    # Each parameter's positions in the flat vector, in the flat-vector order.
    position = unflatten_parameters(generator, torch.arange(n_weights))
    weight_at, bias_at = position["output.weight"], position["output.bias"]  # [P, H], [P]
    if kind in ("output_bias", "output"):
        picked = bias_at if kind == "output_bias" else torch.cat([weight_at.flatten(), bias_at])
        columns = picked.tolist()
        ones = torch.ones(len(columns), dtype=torch.float64)
        basis = _sparse_basis(range(len(columns)), columns, ones, (len(columns), n_weights))
        return WeightSubspace(start, basis, kind)
    # output_affine: direction p scales row p of W and b_p by (1 + a_p); direction P + p
    # shifts b_p. Both linear in (a, b), so the map stays affine.
    n_out = len(bias_at)
    rows, columns, values = [], [], []
    for p in range(n_out):
        row_columns = [*weight_at[p].tolist(), int(bias_at[p])]
        rows += [p] * len(row_columns)
        columns += row_columns
        values.append(start[row_columns])
        rows.append(n_out + p)
        columns.append(int(bias_at[p]))
        values.append(torch.ones(1, dtype=torch.float64))
    basis = _sparse_basis(rows, columns, torch.cat(values), (2 * n_out, n_weights))
    return WeightSubspace(start, basis, kind)


class SubspaceProblem:
    """A :class:`GeneratorProblem` searched in a :class:`WeightSubspace`: ``n_weights`` is
    the subspace's dimension and ``evaluate`` scores the embedded weights; everything else
    is the wrapped problem's."""

    def __init__(self, problem: GeneratorProblem, subspace: WeightSubspace) -> None:
        if subspace.start.numel() != problem.n_weights:
            raise ValueError(
                f"subspace around {subspace.start.numel()} weights, problem has "
                f"{problem.n_weights}"
            )
        self.problem = problem
        self.subspace = subspace

    def __getattr__(self, name: str) -> Any:
        return getattr(self.problem, name)

    @property
    def n_weights(self) -> int:
        return self.subspace.n_directions

    def subset(self, indices: Sequence[int]) -> SubspaceProblem:
        return SubspaceProblem(self.problem.subset(indices), self.subspace)

    def evaluate(self, weights: Tensor, batch: Batch) -> EvaluationResult:
        return self.problem.evaluate(self.subspace.embed(weights), batch)

    def ln_km_spread(self, weights: Tensor, batch: Batch) -> list[float]:
        return self.problem.ln_km_spread(self.subspace.embed(weights), batch)
