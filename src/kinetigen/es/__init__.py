"""kinetigen.es: the generator-training problem, evolution strategies and the training loop.

The problem (what is evaluated: :class:`GeneratorProblem`) is kept apart from the search
algorithms (how the search moves: :class:`TrustRegionNES`, :class:`RenaissanceES`,
:class:`RenaissanceOursES`, :class:`SepCMA`), which share the ``step(problem)`` /
``state_dict`` interface of :class:`EvolutionStrategy`. One generation loop
(:func:`run_generations`) drives them; history, monitor, log line and checkpoints are its hooks.
"""

from kinetigen.es.base import EvolutionStrategy
from kinetigen.es.checkpoint import config_hash, load_checkpoint, save_checkpoint
from kinetigen.es.generations import (
    Checkpointer,
    EnvironmentSubsets,
    GenerationHook,
    GenerationLogger,
    GenerationState,
    HistoryRecorder,
    Monitor,
    RowCallback,
    run_generations,
)
from kinetigen.es.problem import (
    Batch,
    Environment,
    EvaluationResult,
    GeneratorProblem,
    balanced_indices,
)
from kinetigen.es.renaissance import RenaissanceES, RenaissanceOursES
from kinetigen.es.sepcma import SepCMA
from kinetigen.es.stability import stability_runs, summarise_stability
from kinetigen.es.training import (
    OPTIMIZERS,
    TrainingResult,
    build_optimizer,
    evaluate_generator,
    train,
)
from kinetigen.es.trnes import TrustRegionNES, paired_difference
from kinetigen.es.utilities import (
    combined_utilities,
    kl_mean_part,
    kl_sigma_part,
    limit_sigma_step,
    project_mean_step,
    rank_utilities,
)
from kinetigen.methods import METHODS

__all__ = [
    "METHODS",
    "OPTIMIZERS",
    "Batch",
    "Checkpointer",
    "EnvironmentSubsets",
    "GenerationHook",
    "GenerationLogger",
    "GenerationState",
    "HistoryRecorder",
    "Monitor",
    "RowCallback",
    "Environment",
    "EvaluationResult",
    "EvolutionStrategy",
    "GeneratorProblem",
    "RenaissanceES",
    "RenaissanceOursES",
    "SepCMA",
    "TrainingResult",
    "TrustRegionNES",
    "balanced_indices",
    "build_optimizer",
    "combined_utilities",
    "config_hash",
    "evaluate_generator",
    "kl_mean_part",
    "kl_sigma_part",
    "limit_sigma_step",
    "load_checkpoint",
    "paired_difference",
    "project_mean_step",
    "rank_utilities",
    "run_generations",
    "save_checkpoint",
    "stability_runs",
    "summarise_stability",
    "train",
]
