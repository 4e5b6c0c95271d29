"""What is evaluated: generator weights -> incidence of valid kinetic models per environment.

The problem knows the generator architecture, the training environments (each with a batched
``lambda_max`` evaluator, per-steady-state thresholds and condition vectors) and the reward.
It does not know how the search moves; that is the optimisers' business (kinetigen.es).

Reward of one generator for one environment: incidence (fraction of its generated models with
lambda_max < threshold) plus ``tie_weight`` times a smooth score in [0, 1] (or [-1, 1] for the
``margin`` form) that still ranks generators when the incidence ties, e.g. at 0 early on.
With a Km regulariser (``training.km_regulariser``, :mod:`kinetigen.es.regulariser`) its
weight times the mean penalty of the models is subtracted; without one (the default) the
reward is exactly incidence + tie_weight * smooth.

Modes
-----
``conditional``
    One conditional generator for all training environments; one objective per environment.
``shared``
    One unconditional generator; a Km set counts as valid only if it is valid in every training
    environment at once (Km are properties of enzymes, not of media). One objective: the
    fraction valid in all environments.
``per-environment``
    One unconditional generator for exactly one environment.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from kinetigen.es.regulariser import KmRegulariser
from kinetigen.generator.model import Generator, forward_population
from kinetigen.schema import check_value, config_error

logger = logging.getLogger(__name__)

MODES = ("conditional", "shared", "per-environment")
# asinh(1e6): the "asinh" tie-breaker reaches +-1 at a margin of a million tie_scale units.
ASINH_SPAN = 14.508657738524219

LambdaMaxEvaluator = Callable[[Tensor, Tensor], Tensor]
"""``lambda_max(ln_km [N, P], steady_state_idx [N] long) -> [N]`` in 1/h; inf marks invalid."""


@dataclass
class Environment:
    """One training or held-out environment as the generator sees it.

    Attributes
    ----------
    name
        Environment name (config key).
    lambda_max
        Batched evaluator, see :data:`LambdaMaxEvaluator`.
    thresholds
        [S] validity threshold per steady state (1/h): valid iff lambda_max < threshold.
    conditions
        [S, C] condition vectors of the steady states (None for unconditional use).
    positions
        [S] long: the evaluator's own index of each steady state used here (default
        0..S-1). Lets an environment train on a subset, e.g. the steady states that the
        attainability screen keeps, while the evaluator keeps its full numbering.
    ln_concentration
        [S, P] ln concentration (ln mol/L) of each shared Km parameter's metabolite at each
        steady state, NaN for the parameters this environment's model lacks; the Km
        regulariser's saturation penalty reads it (None: not available).
    """

    name: str
    lambda_max: LambdaMaxEvaluator
    thresholds: Tensor
    conditions: Tensor | None = None
    positions: Tensor | None = None
    ln_concentration: Tensor | None = None

    def __post_init__(self) -> None:
        self.thresholds = torch.as_tensor(self.thresholds, dtype=torch.float64).flatten()
        if self.thresholds.numel() == 0:
            raise ValueError(f"environment {self.name!r}: no steady states (empty thresholds)")
        if not bool(torch.all(torch.isfinite(self.thresholds))):
            raise ValueError(f"environment {self.name!r}: thresholds must be finite")
        if self.conditions is not None:
            self.conditions = torch.as_tensor(self.conditions)
            if self.conditions.ndim != 2 or self.conditions.shape[0] != self.n_steady_states:
                raise ValueError(
                    f"environment {self.name!r}: conditions must be [S={self.n_steady_states}, C],"
                    f" got {tuple(self.conditions.shape)}"
                )
        if self.positions is None:
            self.positions = torch.arange(self.n_steady_states)
        self.positions = torch.as_tensor(self.positions, dtype=torch.long).flatten()
        if self.positions.numel() != self.n_steady_states:
            raise ValueError(
                f"environment {self.name!r}: {self.positions.numel()} positions for "
                f"{self.n_steady_states} steady states"
            )
        if self.ln_concentration is not None:
            ln_x = torch.as_tensor(self.ln_concentration, dtype=torch.float64)
            self.ln_concentration = ln_x
            if ln_x.ndim != 2 or len(ln_x) != self.n_steady_states:
                raise ValueError(
                    f"environment {self.name!r}: ln_concentration must be "
                    f"[S={self.n_steady_states}, P], got {tuple(self.ln_concentration.shape)}"
                )

    def evaluate_lambda_max(self, ln_km: Tensor, idx: Tensor) -> Tensor:
        """lambda_max [N] (1/h) for ln Km [N, P] at local steady states ``idx`` [N]; any
        non-finite value (NaN, +-inf) becomes +inf, i.e. invalid."""
        values = self.lambda_max(ln_km, self.positions[idx])
        # Evaluators may run on a GPU; scores are kept on the CPU next to the generator.
        values = torch.as_tensor(values).to(device="cpu", dtype=torch.float64)
        if values.shape != idx.shape:
            raise ValueError(
                f"environment {self.name!r}: evaluator returned shape {tuple(values.shape)} "
                f"for {idx.numel()} models"
            )
        return torch.where(torch.isfinite(values), values, torch.inf)

    @property
    def n_steady_states(self) -> int:
        return int(self.thresholds.numel())


@dataclass
class Batch:
    """Common random numbers of one evaluation: one latent batch, one steady-state choice per
    environment; every population member is scored on exactly these."""

    z: Tensor  # [B, L]
    steady_state_idx: list[Tensor]  # per environment, [B] long

    @property
    def n_models(self) -> int:
        return int(self.z.shape[0])


@dataclass
class EvaluationResult:
    """Scores of a population on one batch.

    Attributes
    ----------
    incidence
        [pop, E] fraction of models valid in each environment.
    smooth
        [pop, E] mean smooth score per environment (tie-breaker).
    objective_incidence
        [pop, K] the incidence that the mode optimises (K = E for conditional; K = 1 for shared,
        the fraction valid in all environments; K = 1 for per-environment).
    objective_smooth
        [pop, K] its smooth tie-breaker.
    model_scores
        [pop, K, B] per-model score (valid + tie_weight * smooth, less the Km-regulariser
        penalty and the member's spread shortfall where set) for paired comparisons.
    lambda_max
        [pop, E, B] the evaluated lambda_max (1/h; inf where invalid/non-finite).
    n_model_evaluations
        Jacobian evaluations spent (members x models x environments).
    penalty
        [pop, K] mean Km-regulariser penalty per objective (None without a regulariser);
        ``penalty_weight`` times it is subtracted from the fitness.
    spread_shortfall
        [pop, K] how far each member's Km spread falls short of the problem's
        ``spread_floor`` (0 to 1; None without a floor); subtracted from the fitness.
    """

    incidence: Tensor
    smooth: Tensor
    objective_incidence: Tensor
    objective_smooth: Tensor
    model_scores: Tensor
    lambda_max: Tensor
    n_model_evaluations: int
    tie_weight: float = field(default=0.0)
    penalty: Tensor | None = None
    penalty_weight: float = 0.0
    spread_shortfall: Tensor | None = None

    @property
    def fitness(self) -> Tensor:
        """[pop, K] incidence + tie_weight * smooth score (- penalty_weight * penalty with a
        Km regulariser, - spread_shortfall with a spread floor), per objective."""
        fitness = self.objective_incidence + self.tie_weight * self.objective_smooth
        if self.penalty is not None:
            fitness = fitness - self.penalty_weight * self.penalty
        if self.spread_shortfall is not None:
            fitness = fitness - self.spread_shortfall
        return fitness


# The spread floor's probe: this many latent draws at this many steady states per member.
SPREAD_DRAWS = 16
SPREAD_STATES = 4


class GeneratorProblem:
    """Scores generator weight vectors on a set of environments.

    Parameters
    ----------
    generator
        Architecture (its current weights are only the default starting point).
    environments
        Training environments; ``per-environment`` mode takes exactly one.
    mode
        ``"conditional"``, ``"shared"`` or ``"per-environment"`` (see module docstring).
    models_per_member
        Models generated per population member and environment per generation (B).
    tie_weight
        Weight of the smooth tie-breaker added to the incidence.
    tie_breaker
        ``"sigmoid"``: mean sigmoid((thr - lambda_max) / tie_scale);
        ``"margin"``: mean clamp((thr - lambda_max) / tie_scale, -1, 1);
        ``"asinh"``: mean clamp(asinh((thr - lambda_max) / tie_scale) / asinh(1e6), -1, 1),
        which keeps ranking generators whose models miss the threshold by orders of magnitude
        (kinetic models can start at lambda_max ~ +1e5 1/h, where a sigmoid is flat).
    tie_scale
        Scale of lambda_max (1/h) in the tie-breaker.
    max_models_per_call
        Largest number of models handed to one evaluator call (memory bound); the population
        is split into member chunks to respect it.
    regulariser
        Km regulariser subtracted from the reward (None, the default: none); its saturation
        penalty needs every environment's ``ln_concentration``.
    spread_floor
        Where a member spreads the Km of a steady state less than this (the median standard
        deviation of ln Km over latent draws, ln units), its reward loses up to 1 (the whole
        incidence) in proportion to the shortfall, so that validity cannot be bought by
        narrowing the generator to one parameter set per steady state (None: no floor).
    """

    def __init__(
        self,
        generator: Generator,
        environments: Sequence[Environment],
        mode: str = "conditional",
        models_per_member: int = 100,
        tie_weight: float = 0.01,
        tie_breaker: str = "sigmoid",
        tie_scale: float = 1.0,
        max_models_per_call: int = 200_000,
        regulariser: KmRegulariser | None = None,
        spread_floor: float | None = None,
    ) -> None:
        if mode not in MODES:  # the config's modes and "per-environment"
            raise config_error("training.mode", f"must be one of {MODES}, got {mode!r}")
        check_value("training.tie_breaker", tie_breaker)
        check_value("training.tie_scale", tie_scale)
        check_value("training.tie_weight", tie_weight)
        if not environments:
            raise ValueError("GeneratorProblem needs at least one environment")
        names = [env.name for env in environments]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate environment names: {names}")
        if models_per_member < 1:
            raise config_error(
                "training.<method>.models_per_member", f"must be >= 1, got {models_per_member}"
            )
        if mode == "per-environment" and len(environments) != 1:
            raise ValueError(
                f"per-environment mode trains on exactly one environment, got {len(environments)}"
            )
        if mode == "conditional":
            if generator.condition_dim == 0:
                raise ValueError(
                    "conditional mode needs a conditional generator (generator.condition_dim > 0)"
                )
            for env in environments:
                if env.conditions is None:
                    raise ValueError(f"environment {env.name!r}: conditional mode needs conditions")
                if env.conditions.shape[1] != generator.condition_dim:
                    raise ValueError(
                        f"environment {env.name!r}: conditions have width "
                        f"{env.conditions.shape[1]}, generator.condition_dim is "
                        f"{generator.condition_dim}"
                    )
        elif generator.condition_dim != 0:
            raise ValueError(
                f"{mode} mode needs an unconditional generator (generator.condition_dim = 0)"
            )
        self.generator = generator
        self.environments = list(environments)
        self.mode = mode
        self.models_per_member = int(models_per_member)
        self.tie_weight = float(tie_weight)
        self.tie_breaker = tie_breaker
        self.tie_scale = float(tie_scale)
        self.max_models_per_call = int(max_models_per_call)
        self.regulariser = regulariser
        self.spread_floor = None if spread_floor is None else float(spread_floor)
        check_concentrations(generator, self.environments, mode, regulariser)
        self.dtype = generator.lower.dtype

    def subset(self, indices: Sequence[int]) -> GeneratorProblem:
        """The same problem (generator, mode, reward options) on the environments at
        ``indices``, in that order: what one generation scores when it draws a subset."""
        return GeneratorProblem(
            self.generator,
            [self.environments[index] for index in indices],
            mode=self.mode,
            models_per_member=self.models_per_member,
            tie_weight=self.tie_weight,
            tie_breaker=self.tie_breaker,
            tie_scale=self.tie_scale,
            max_models_per_call=self.max_models_per_call,
            regulariser=self.regulariser,
            spread_floor=self.spread_floor,
        )

    @property
    def n_weights(self) -> int:
        return self.generator.n_weights

    @property
    def environment_names(self) -> list[str]:
        return [env.name for env in self.environments]

    @property
    def objective_names(self) -> list[str]:
        """Names of the K objective columns."""
        if self.mode == "shared":
            return ["all"]
        return self.environment_names

    def sample_batch(self, rng: torch.Generator, n_models: int | None = None) -> Batch:
        """Fresh latent batch and steady-state choice (balanced: every steady state of an
        environment is used equally often, up to one, in random order)."""
        n_models = self.models_per_member if n_models is None else int(n_models)
        z = torch.randn(n_models, self.generator.latent_dim, generator=rng, dtype=self.dtype)
        indices = [
            balanced_indices(env.n_steady_states, n_models, rng) for env in self.environments
        ]
        return Batch(z=z, steady_state_idx=indices)

    def batch_thresholds(self, batch: Batch) -> Tensor:
        """[E, B] validity threshold (1/h) of every model of ``batch``, per environment."""
        return torch.stack(
            [
                env.thresholds[idx]
                for env, idx in zip(self.environments, batch.steady_state_idx, strict=True)
            ]
        )

    def smooth_score(self, lambda_max: Tensor, thresholds: Tensor) -> Tensor:
        """Tie-breaker per model; non-finite lambda_max scores as far invalid."""
        margin = (thresholds - lambda_max) / self.tie_scale
        if self.tie_breaker == "sigmoid":
            return torch.sigmoid(margin)
        if self.tie_breaker == "asinh":
            margin = torch.nan_to_num(margin, nan=-1e300)
            return torch.clamp(torch.asinh(margin) / ASINH_SPAN, -1.0, 1.0)
        return torch.clamp(margin, -1.0, 1.0)

    @torch.no_grad()
    def evaluate(self, weights: Tensor, batch: Batch) -> EvaluationResult:
        """Score a population of flat weights [pop, D] (or one vector [D]) on ``batch``."""
        if weights.ndim == 1:
            weights = weights.unsqueeze(0)
        weights = weights.to(self.dtype)
        pop = weights.shape[0]
        n_models = batch.n_models
        n_envs = len(self.environments)
        lambda_max = torch.empty(pop, n_envs, n_models, dtype=torch.float64)
        penalty = None if self.regulariser is None else torch.empty_like(lambda_max)
        chunk = max(1, self.max_models_per_call // n_models)
        for start in range(0, pop, chunk):
            members = weights[start : start + chunk]
            part = slice(start, start + chunk)
            lambda_max[part] = self._lambda_max_chunk(members, batch, penalty, part)

        thresholds = self.batch_thresholds(batch)  # [E, B]
        valid = lambda_max < thresholds  # inf and NaN compare False: invalid
        smooth = self.smooth_score(lambda_max, thresholds)
        valid_f = valid.to(torch.float64)
        if self.mode == "shared":
            objective_valid = valid.all(dim=1, keepdim=True).to(torch.float64)  # [pop, 1, B]
            objective_smooth_per_model = smooth.min(dim=1, keepdim=True).values
        else:
            objective_valid = valid_f
            objective_smooth_per_model = smooth
        model_scores = objective_valid + self.tie_weight * objective_smooth_per_model
        objective_penalty = None
        if penalty is not None:  # [pop, E, B] -> per objective (shared: mean over environments)
            if self.mode == "shared":
                penalty = penalty.mean(dim=1, keepdim=True)
            objective_penalty = penalty.mean(dim=2)
            model_scores = model_scores - self.regulariser.weight * penalty
        shortfall = None
        if self.spread_floor is not None:
            shortfall = self._spread_shortfall(weights, batch)  # [pop, E]
            if self.mode == "shared":
                shortfall = shortfall.mean(dim=1, keepdim=True)
            model_scores = model_scores - shortfall.unsqueeze(-1)
        return EvaluationResult(
            incidence=valid_f.mean(dim=2),
            smooth=smooth.mean(dim=2),
            objective_incidence=objective_valid.mean(dim=2),
            objective_smooth=objective_smooth_per_model.mean(dim=2),
            model_scores=model_scores,
            lambda_max=lambda_max,
            n_model_evaluations=pop * n_models * n_envs,
            tie_weight=self.tie_weight,
            penalty=objective_penalty,
            penalty_weight=0.0 if self.regulariser is None else self.regulariser.weight,
            spread_shortfall=shortfall,
        )

    def _movable(self, env: Environment, idx: Tensor) -> Tensor:
        """[len(idx), P] the Km the generator may move at steady states ``idx``: present in
        the environment's model (finite ln x) and an output interval wider than a point."""
        ln_x = None if env.ln_concentration is None else env.ln_concentration[idx]
        lower, upper = self.generator.output_bounds(
            ln_x if self.generator.needs_concentrations else None
        )
        movable = (upper > lower).expand(len(idx), -1)
        if ln_x is not None:  # NaN: the environment's model lacks the parameter
            movable = movable & torch.isfinite(ln_x)
        return movable

    def _spread_shortfall(self, weights: Tensor, batch: Batch) -> Tensor:
        """[pop, E] ``max(0, 1 - spread / spread_floor)`` per member: spread, the median
        standard deviation of ln Km over the batch's first latent draws at its first steady
        states (:data:`SPREAD_DRAWS` x :data:`SPREAD_STATES`, each state with the same
        draws), over the Km it may move. Forward passes only, no Jacobian."""
        n_draws = min(SPREAD_DRAWS, batch.n_models)
        shortfall = torch.empty(weights.shape[0], len(self.environments), dtype=torch.float64)
        for index, (env, idx) in enumerate(
            zip(self.environments, batch.steady_state_idx, strict=True)
        ):
            states = torch.unique(idx)[:SPREAD_STATES]
            probe = states.repeat_interleave(n_draws)
            ln_km = self._ln_km(weights, batch.z[:n_draws].repeat(len(states), 1), env, probe)
            sd = ln_km.reshape(weights.shape[0], len(states), n_draws, -1).std(dim=2)
            spread = sd[:, self._movable(env, states)].median(dim=1).values
            shortfall[:, index] = torch.clamp(1.0 - spread / self.spread_floor, min=0.0)
        return shortfall

    def _ln_km(self, members: Tensor, z: Tensor, env: Environment, idx: Tensor) -> Tensor:
        """ln Km [pop, B, P] that ``members`` generate for latent ``z`` at ``env``'s steady
        states ``idx``."""
        generator = self.generator
        conditions = None
        if generator.condition_dim > 0:
            conditions = env.conditions[idx].to(self.dtype)
        ln_x = env.ln_concentration[idx] if generator.needs_concentrations else None
        return forward_population(generator, members, z, conditions, ln_x)

    @torch.no_grad()
    def ln_km_spread(self, weights: Tensor, batch: Batch) -> list[float]:
        """Per environment: how widely ``weights`` [D] spread the Km of one steady state.

        The standard deviation of ln Km over the batch's models that share a steady state
        (latent draws only), per parameter the model has and the generator may move (present
        metabolite, an interval wider than a point); the median over parameters and steady
        states. A generator that found validity by narrowing to a point scores near 0."""
        members = weights.reshape(1, -1).to(self.dtype)
        spreads = []
        for env, idx in zip(self.environments, batch.steady_state_idx, strict=True):
            ln_km = self._ln_km(members, batch.z, env, idx)[0]
            movable = self._movable(env, idx)
            values = []
            for state in torch.unique(idx):
                rows = idx == state
                if int(rows.sum()) < 2:
                    continue
                sd = ln_km[rows].std(dim=0, correction=1)
                values.append(sd[movable[rows][0]])
            spreads.append(float(torch.cat(values).median()) if values else math.nan)
        return spreads

    def _lambda_max_chunk(
        self, members: Tensor, batch: Batch, penalty: Tensor | None = None, part: slice = slice(0)
    ) -> Tensor:
        """lambda_max [chunk, E, B] of ``members``; with a regulariser also writes the models'
        penalties into ``penalty[part]`` ([pop, E, B])."""
        pop, n_models = members.shape[0], batch.n_models
        out = torch.empty(pop, len(self.environments), n_models, dtype=torch.float64)
        generator = self.generator
        shared_ln_km = None
        if self.mode != "conditional" and not generator.needs_concentrations:
            shared_ln_km = forward_population(generator, members, batch.z)
        for index, (env, idx) in enumerate(
            zip(self.environments, batch.steady_state_idx, strict=True)
        ):
            ln_km = shared_ln_km
            if ln_km is None:
                ln_km = self._ln_km(members, batch.z, env, idx)
            flat_km = ln_km.reshape(pop * n_models, -1)
            values = env.evaluate_lambda_max(flat_km, idx.repeat(pop))
            out[:, index] = values.reshape(pop, n_models)
            if penalty is not None:
                ln_x = None if env.ln_concentration is None else env.ln_concentration[idx]
                if ln_x is None:  # the prior penalty reads ln Km only
                    ln_x = torch.zeros(ln_km.shape[1:], dtype=torch.float64)
                penalty[part, index] = self.regulariser.model_penalty(ln_km, ln_x)
        return out


def check_concentrations(
    generator: Generator,
    environments: Sequence[Environment],
    mode: str,
    regulariser: KmRegulariser | None,
) -> None:
    """The saturation penalty and a generator in saturation space read every environment's
    ``ln_concentration``; saturation space makes Km per steady state, not shared."""
    if generator.needs_concentrations and mode == "shared":
        raise config_error(
            "generator.output_space", "'saturation' needs training.mode conditional, not shared"
        )
    readers = []
    if regulariser is not None and regulariser.kind == "saturation":
        readers.append("the saturation penalty")
    if generator.needs_concentrations:
        readers.append("generator.output_space 'saturation'")
    for env in environments:
        if readers and env.ln_concentration is None:
            raise ValueError(
                f"environment {env.name!r}: {' and '.join(readers)} needs ln_concentration"
            )


def balanced_indices(n_steady_states: int, n_models: int, rng: torch.Generator) -> Tensor:
    """``n_models`` steady-state indices covering all states as evenly as possible, shuffled."""
    repeats = -(-n_models // n_steady_states)
    pool = torch.cat([torch.randperm(n_steady_states, generator=rng) for _ in range(repeats)])
    chosen = pool[:n_models]
    return chosen[torch.randperm(n_models, generator=rng)]
