"""RENAISSANCE's optimiser (Choudhury et al., Nature Catalysis 2024), reproduced as the baseline,
and ``renaissance-ours``: the same weight update driven by kinetigen's reward.

What the published code does
----------------------------
Read in github.com/EPFL-LCSB/RENAISSANCE (commit 0fb8c25):

``docker/work/evostrat/evolution_strategy.py`` (``EvolutionStrategy``)
    Each generation draws N members w_i = w + sigma * eps_i, eps_i ~ N(0, I), no antithetic
    pairs. The rewards R_i are z-scored with the population std (numpy ``std``, ddof 0),
    A_i = (R_i - mean R) / std R, and w <- w + lr / (N sigma) * sum_i eps_i A_i. Then, and only
    then, lr <- lr * decay: when the rewards all tie (std == 0) the update returns early, with
    neither a step nor a decay. So the learning rate of a generation is lr * decay^u, u the
    number of non-tie updates before it. After the update the centre w is scored once more (a
    fresh reward call); that reward is logged, not used.
``docker/work/1-renaissance.py`` (``reward_func``)
    Every reward call generates a fresh batch of ``n_samples`` models (``MLP.sample_parameters``
    in ``evostrat/init_mlp.py`` draws new latent noise each time), so each member and the centre
    are scored on their own models, at one steady state (``ss_idx``). With lambda_i the largest
    real part of each model's Jacobian eigenvalues (``kinetics/jacobian_solver.py``):

    * ``reward_flag = 1`` (the default): sort lambda ascending, m = (sum of the first
      ``n_consider``) / ``n_consider``, reward = exp(-0.1 m) / 2. The threshold plays no part:
      no incidence, no fallback; it pushes for ever faster dynamics.
    * ``reward_flag = 0``: m = min_i lambda_i over the batch; if m > ``eig_partition`` (no
      model valid) the reward is 0.01 / (1 + exp(m - eig_partition)), otherwise the incidence
      #{lambda_i <= eig_partition} / ``n_samples``.
``docker/work/configfile.ini``
    generations 25, pop_size 20, noise (sigma) 0.01, lr 1e-3, decay 0.95, n_samples 100,
    reward_flag 1, n_consider 10, eig_partition -2.5 (1/h), one steady state, one repeat.
    (``evostrat/rewards.py`` holds an older, unused reward with the same fallback at -0.9.)

Here
----
``reward="renaissance"`` is reward_flag 1 and ``reward="incidence"`` reward_flag 0, both with
the published update, decay rule, defaults and per-member fresh batches (``common_batch=False``).
Our adaptations, none of which changes the published case of one environment, one threshold and
finite eigenvalues:

* Several environments (our conditional problem): the published reward is computed per
  environment and averaged over environments. In ``incidence`` mode it is computed per
  objective, so ``shared`` mode rewards the fraction of models valid everywhere at once (a
  model's margin is then its largest margin over the environments).
* Thresholds are per steady state: the fallback uses min over models of
  (lambda_max - threshold of that model's steady state). Validity is kinetigen's strict
  lambda_max < threshold (published: <=; they differ only at exact equality).
* lambda_max = +inf marks a failed or non-finite model. ``renaissance``: the mean is over the
  finite values among the ``n_consider`` smallest; none finite gives reward 0. ``incidence``:
  inf is invalid and, with nothing valid and nothing finite, the fallback is 0.01 / inf = 0.
  With fewer than ``n_consider`` models the mean is over all of them (published: still divided
  by ``n_consider``).
* exp(-0.1 m) overflows for m below about -7100 1/h (the published update then produces NaN
  weights) and rounds to 0 above about +7440 1/h (a spurious tie). The update z-scores the
  rewards times one positive factor common to the generation, exp(-max ln R); z-scores do not
  change under that scaling, so the step equals the published one wherever that is finite.

``renaissance-ours`` (:class:`RenaissanceOursES`) keeps the update, decay rule and defaults and
replaces the reward by kinetigen's: the rank utilities of ``fitness`` (incidence plus the smooth
tie-breaker) per objective, averaged over objectives, as TR-NES uses
(:func:`~kinetigen.es.utilities.combined_utilities`), scored by default on one common batch
(common random numbers), since ranks compare members on the same models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from kinetigen.es.base import EvolutionStrategy, centre_statistics, sigma_statistics
from kinetigen.es.problem import Batch, EvaluationResult, GeneratorProblem
from kinetigen.es.utilities import combined_utilities, kl_mean_part
from kinetigen.settings import RenaissanceOursSettings, RenaissanceSettings

LN_2 = math.log(2.0)


def incidence_reward(margins: Tensor) -> Tensor:
    """RENAISSANCE's reward_flag 0 from margins [..., B] = lambda_max - threshold -> [...].

    The fraction of models with margin < 0 (valid); if none is valid, the fallback
    0.01 / (1 + exp(min margin)), at most 0.005 and 0 when every margin is +inf.
    """
    valid = margins < 0
    incidence = valid.to(torch.float64).mean(dim=-1)
    fallback = 0.01 / (1.0 + torch.exp(margins.amin(dim=-1).to(torch.float64)))
    return torch.where(valid.any(dim=-1), incidence, fallback)


def log_eigenvalue_reward(lambda_max: Tensor, n_consider: int = 10) -> Tensor:
    """ln of RENAISSANCE's reward_flag 1 from lambda_max [..., B] (1/h) -> [...].

    reward = exp(-0.1 m) / 2 with m the mean of the ``n_consider`` smallest lambda_max, so
    ln reward = -0.1 m - ln 2. Non-finite values are left out of the mean; with none finite the
    reward is 0 (ln reward = -inf).
    """
    count = min(int(n_consider), lambda_max.shape[-1])
    values = lambda_max.to(torch.float64)
    values = torch.where(torch.isfinite(values), values, torch.inf)
    smallest = values.topk(count, dim=-1, largest=False).values
    finite = torch.isfinite(smallest)
    n_finite = finite.sum(dim=-1)
    mean = torch.where(finite, smallest, 0.0).sum(dim=-1) / n_finite.clamp(min=1)
    return torch.where(n_finite > 0, -0.1 * mean - LN_2, -torch.inf)


def eigenvalue_reward(lambda_max: Tensor, n_consider: int = 10) -> Tensor:
    """RENAISSANCE's reward_flag 1 itself, exp(-0.1 m) / 2 (inf below m of about -7100 1/h)."""
    return torch.exp(log_eigenvalue_reward(lambda_max, n_consider))


def scaled_mean_exp(log_rewards: Tensor) -> Tensor:
    """mean_e exp(l_ie) over columns of ``log_rewards`` [pop, E], times one positive factor
    common to all members (exp(-max l)): finite, and with the same z-scores."""
    finite = torch.isfinite(log_rewards)
    if not bool(finite.any()):
        return torch.zeros(log_rewards.shape[0], dtype=torch.float64)
    return torch.exp(log_rewards - log_rewards[finite].max()).mean(dim=1)


class RenaissanceES(EvolutionStrategy):
    """RENAISSANCE's ES: z-scored rewards, fixed sigma, learning rate decayed after non-tie updates.

    Parameters
    ----------
    initial_weights
        Starting weights [D].
    seed
        Seeds the noise and the batches.
    settings, values
        :class:`kinetigen.settings.RenaissanceSettings` (config ``training.renaissance``; None:
        the schema's defaults, the published values) and keyword values on top of it:
    population_size, sigma, learning_rate, decay
        Published values: 20, 0.01, 1e-3, 0.95. The learning rate of a generation is
        ``learning_rate * decay**u``, u the number of earlier updates whose rewards did not all
        tie.
    reward
        ``"renaissance"`` (published reward_flag 1, default), ``"incidence"`` (reward_flag 0,
        with its fallback); :class:`RenaissanceOursES` uses kinetigen's rank reward.
    n_consider
        Smallest lambda_max averaged by the ``renaissance`` reward (published: 10).
    common_batch
        False (published): every member gets its own fresh batch of models; True: all members
        share one batch (common random numbers).
    centre_models
        Models per environment when re-scoring the centre (None: the problem's B).
    """

    name = "renaissance"

    SETTINGS: type[RenaissanceSettings | RenaissanceOursSettings] = RenaissanceSettings

    def __init__(
        self,
        initial_weights: Tensor,
        seed: int = 0,
        settings: RenaissanceSettings | RenaissanceOursSettings | Mapping[str, Any] | None = None,
        centre_models: int | None = None,
        **values: Any,
    ) -> None:
        super().__init__(seed)
        settings = self.SETTINGS.of(settings, **values)  # schema defaults, checks
        self.weights = initial_weights.detach().to(torch.float64).flatten().clone()
        self.population_size = settings.population_size
        self.sigma = settings.sigma
        self.initial_learning_rate = settings.learning_rate
        self.decay = settings.decay
        # renaissance-ours has no reward key: kinetigen's rank reward, n_consider unused
        self.reward = getattr(settings, "reward", "ranks")
        self.n_consider = getattr(settings, "n_consider", None)
        self.common_batch = settings.common_batch
        self.centre_models = centre_models
        self.updates = 0  # non-tie updates so far: the learning rate's decay exponent

    @property
    def learning_rate(self) -> float:
        """Learning rate of the next generation: lr * decay^(non-tie updates so far)."""
        return self.initial_learning_rate * self.decay**self.updates

    def centre(self) -> Tensor:
        return self.weights.clone()

    def ask(self) -> tuple[Tensor, Tensor]:
        """Population [N, D] and its noise eps [N, D]."""
        noise = torch.randn(
            self.population_size,
            self.weights.numel(),
            generator=self.streams["noise"],
            dtype=torch.float64,
        )
        return self.weights + self.sigma * noise, noise

    def update(self, noise: Tensor, rewards: Tensor) -> Tensor:
        """Weight step lr / (N sigma) * sum eps_i A_i for rewards [N]; returns the step.

        Rewards that all tie (std 0) make no step and leave the learning rate as it is;
        any other update decays it by ``decay``.
        """
        spread = rewards.std(correction=0)
        if not float(spread) > 0:
            return torch.zeros_like(self.weights)
        advantages = (rewards - rewards.mean()) / spread
        step = self.learning_rate / (self.population_size * self.sigma) * (noise.T @ advantages)
        self.weights = self.weights + step
        self.updates += 1
        return step

    def reward_columns(
        self, problem: GeneratorProblem, result: EvaluationResult, batch: Batch
    ) -> Tensor:
        """Per-member reward parts [pop, columns] before combining (see :meth:`combine`):
        ln reward per environment (``renaissance``), reward per objective (``incidence``) or
        fitness per objective (``ranks``)."""
        if self.reward == "ranks":
            return result.fitness
        if self.reward == "renaissance":
            return log_eigenvalue_reward(result.lambda_max, self.n_consider)
        margins = result.lambda_max - problem.batch_thresholds(batch)  # [pop, E, B]
        if problem.mode == "shared":
            margins = margins.amax(dim=1, keepdim=True)  # valid everywhere iff max margin < 0
        return incidence_reward(margins)

    def combine(self, columns: Tensor) -> Tensor:
        """Rewards [pop] to z-score from :meth:`reward_columns` (the mean over environments or
        objectives; for ``renaissance`` up to a common positive factor; for ``ranks`` the mean
        rank utility)."""
        if self.reward == "ranks":
            return combined_utilities(columns)
        if self.reward == "renaissance":
            return scaled_mean_exp(columns)
        return columns.mean(dim=1)

    def score(self, problem: GeneratorProblem, members: Tensor) -> tuple[Tensor, Tensor, int]:
        """(reward columns, incidence [pop, E], model evaluations) of ``members`` [pop, D]."""
        if self.common_batch:
            batch = problem.sample_batch(self.streams["batch"])
            result = problem.evaluate(members, batch)
            columns = self.reward_columns(problem, result, batch)
            return columns, result.incidence, result.n_model_evaluations
        columns, incidence, evaluations = [], [], 0
        for member in members:
            batch = problem.sample_batch(self.streams["batch"])
            result = problem.evaluate(member, batch)
            columns.append(self.reward_columns(problem, result, batch))
            incidence.append(result.incidence)
            evaluations += result.n_model_evaluations
        return torch.cat(columns), torch.cat(incidence), evaluations

    def step(self, problem: GeneratorProblem) -> dict[str, Any]:
        if problem.n_weights != self.weights.numel():
            raise ValueError(
                f"problem has {problem.n_weights} weights, optimiser {self.weights.numel()}"
            )
        members, noise = self.ask()
        columns, incidence, evaluations = self.score(problem, members)
        learning_rate = self.learning_rate
        updates_before = self.updates
        step = self.update(noise, self.combine(columns))
        self.generation += 1
        centre_batch = problem.sample_batch(self.streams["heldout"], self.centre_models)
        centre = problem.evaluate(self.weights, centre_batch)
        sigma = torch.full((1,), self.sigma, dtype=torch.float64)
        info: dict[str, Any] = {
            "model_evaluations": evaluations + centre.n_model_evaluations,
            # False: the rewards all tied, so no step and no learning-rate decay.
            "accepted": self.updates > updates_before,
            # The same KL as for TR-NES, with this method's fixed sigma: how far it moved.
            "kl_mean": kl_mean_part(step, sigma),
            "kl_sigma": 0.0,
            "radius": float("nan"),
            "learning_rate": learning_rate,
            "population_incidence_mean": incidence.mean(0).tolist(),
            **sigma_statistics(sigma),
            **centre_statistics(centre),
        }
        if self.reward != "ranks":  # the published log line: the centre's own reward
            centre_columns = self.reward_columns(problem, centre, centre_batch)[0]
            if self.reward == "renaissance":
                centre_columns = torch.exp(centre_columns)
            info["centre_reward"] = float(centre_columns.mean())
        return info

    def _algorithm_state(self) -> dict[str, Any]:
        return {"weights": self.weights.clone(), "updates": self.updates}

    def _load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.weights = state["weights"].clone()
        self.updates = int(state["updates"])


class RenaissanceOursES(RenaissanceES):
    """RENAISSANCE's update (z-scored step, decay after non-tie updates, published defaults)
    with kinetigen's reward: rank utilities of ``fitness`` per objective, averaged over
    objectives, as TR-NES uses. ``common_batch`` defaults to True (members ranked on the same
    models); the other parameters are those of :class:`RenaissanceES`."""

    name = "renaissance-ours"
    SETTINGS = RenaissanceOursSettings
