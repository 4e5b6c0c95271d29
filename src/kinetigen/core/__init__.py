"""The kinetic core of a genome-scale model: which reactions become kinetic
(:mod:`kinetigen.core.select`), the reduced model with the boundary reactions that close the
core's steady state (:mod:`kinetigen.core.reduce`) and ``core.json`` (:mod:`kinetigen.core.report`).
"""

from kinetigen.core.reduce import (
    BoundaryReaction,
    CoreReduction,
    core_boundary,
    reduce_in_environment,
    reduce_to_core,
    reduced_model,
    reduced_reference,
)
from kinetigen.core.report import core_document, kinetic_sizes, write_core_json
from kinetigen.core.select import CoreDefinition, CoreError, pathway_to, select_core

__all__ = [
    "BoundaryReaction",
    "CoreDefinition",
    "CoreError",
    "CoreReduction",
    "core_boundary",
    "core_document",
    "kinetic_sizes",
    "pathway_to",
    "reduce_in_environment",
    "reduce_to_core",
    "reduced_model",
    "reduced_reference",
    "select_core",
    "write_core_json",
]
