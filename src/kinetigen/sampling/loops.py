"""Internal cycles that a directionality profile allows (issue 10: loops that unconstrained
reactions would allow are reported).

Around a cycle of constrained reactions the Gibbs energies sum to zero, so a thermodynamically
feasible profile cannot run every one of them forward: a cycle that the profile admits must
pass through a reaction without thermodynamic constraints (no dG data, a lumped reaction of a
kinetic core). With every boundary reaction closed (exchanges, demands, sinks, the biomass and
a kinetic core's boundary reactions) and every other reaction held to its direction in the
profile (inactive ones at zero), any flux left is such a cycle. The sampled steady states all
share the profile, so they may carry these cycles, and so may the kinetic models built on them.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

import cobra
from cobra.flux_analysis import flux_variability_analysis

logger = logging.getLogger(__name__)

# The note a kinetic core's boundary reactions carry (kinetigen.core.reduce).
CORE_BOUNDARY_NOTE = "kinetigen_core"
# Flux (per unit of the normalised bounds) above which a reaction carries a cycle.
LOOP_TOLERANCE = 1e-7


def is_boundary(reaction: cobra.Reaction, biomass_reaction: str) -> bool:
    """Exchanges, demands, sinks, the biomass and a kinetic core's boundary reactions."""
    return (
        reaction.boundary
        or reaction.id == biomass_reaction
        or CORE_BOUNDARY_NOTE in (reaction.notes or {})
    )


def directional_loops(
    model: cobra.Model,
    directionality: Mapping[str, int],
    biomass_reaction: str,
    unconstrained: Collection[str],
) -> dict[str, Any]:
    """The reactions that can carry an internal cycle under ``directionality`` (reaction ->
    +1, -1 or 0; a reaction it lacks counts as inactive). ``model`` is not changed.

    Returns ``{"reactions": [...], "unconstrained": [...]}``: the reactions in some cycle
    (sorted), and those of them without thermodynamic constraints (``unconstrained``), which
    are what lets the cycle run. One LP tells whether there is any cycle; only then does a
    flux variability analysis name every reaction in one.
    """
    with model:
        internal = []
        for reaction in model.reactions:
            direction = (
                0 if is_boundary(reaction, biomass_reaction) else directionality.get(reaction.id, 0)
            )
            # Bounds of unit size in the profile's direction: a cycle's size is arbitrary.
            reaction.bounds = (min(direction, 0), max(direction, 0))
            if direction:
                internal.append((reaction, direction))
        if not internal:
            return {"reactions": [], "unconstrained": []}
        model.objective = {reaction: float(direction) for reaction, direction in internal}
        model.objective_direction = "max"
        total = model.slim_optimize(error_value=0.0)
        if total <= LOOP_TOLERANCE:
            return {"reactions": [], "unconstrained": []}
        ranges = flux_variability_analysis(
            model, [reaction for reaction, _ in internal], fraction_of_optimum=0.0
        )
    looping = ranges[
        (ranges["maximum"].abs() > LOOP_TOLERANCE) | (ranges["minimum"].abs() > LOOP_TOLERANCE)
    ]
    reactions = sorted(looping.index)
    free = set(unconstrained)
    return {"reactions": reactions, "unconstrained": [r for r in reactions if r in free]}
