"""Which reactions of a (genome-scale) model are kinetic: :func:`select_core`.

The core is the union of the configured subsystems, the added reactions and the pathways to
the configured products, less the dropped reactions (``core`` section of the config,
:class:`kinetigen.settings.CoreSettings`), plus every other reaction whose metabolites are all
core metabolites already (ADK1 among atp, adp and amp; transports of core metabolites between
compartments of the core): a boundary reaction standing for one such reaction would be that
reaction made irreversible. Exchanges and the biomass reaction never belong
to it: the exchanges of core metabolites are kept as they are, and the biomass reaction
becomes the lumped biomass of the reduced model (:mod:`kinetigen.core.reduce`).

Pathways (``core.pathways_to``) are found by forward expansion with AND semantics: a reaction
can run, in a direction its bounds allow, once every reactant it needs is available (a
metabolite of the subsystems' reactions or of the pathways found before, a currency metabolite,
or a product of a reaction that ran in an earlier round). The added reactions join afterwards
(they are the start only when no subsystem is configured), so an addition that touches a
product, e.g. a degradation step, does not cut its pathway short.
The round in which a metabolite is first made is its depth; the pathway to a product is
every reaction that makes it at its depth, and recursively the reactions that make their
reactants at theirs. So PSCVT (skm5p + pep -> 3psme + pi) runs only once skm5p is made, and
the pathway from the core (e4p, pep) to chorismate is the seven reactions of the shikimate
pathway, not a shortcut through pep alone, as in a plain shortest path over the
metabolite-reaction graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cobra

from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.kinetics.structure import is_state_metabolite
from kinetigen.network import base_id, is_water_or_proton
from kinetigen.schema import config_error
from kinetigen.settings import CoreSettings, WorkflowSettings

# A reaction run in one direction: (reaction id, +1 forward or -1 reverse).
Step = tuple[str, int]


class CoreError(ValueError):
    """The core configuration does not fit the model (an id it lacks, an empty or
    disconnected core, a product no pathway reaches)."""


@dataclass(frozen=True)
class CoreDefinition:
    """The kinetic core of a model.

    Attributes
    ----------
    reactions : core reaction ids, in model order.
    origins : reaction id -> why it is in the core ("subsystem 'Citric Acid Cycle'",
        "core.add_reactions", "pathway to chor_c", "whole model").
    metabolites : every metabolite of a core reaction, in model order.
    states : the metabolites that are likely dynamic states of the kinetic model (by the
        kinetic stage's rule: no H+ or H2O, no boundary compartment, no constant small
        molecule); the kinetic model keeps those of active reactions.
    boundary_metabolites : core metabolite -> why the core exchanges it with the rest of the
        network: the non-core reactions that make or use it (boundary reactions of the
        reduced model are built for these, :func:`kinetigen.core.reduce.reduce_to_core`).
    biomass_reaction : the model's biomass reaction (outside the core; lumped).
    boundary_slack : ``core.boundary_slack``.
    whole_model : no core configured: every reaction is kinetic.
    """

    reactions: tuple[str, ...]
    origins: Mapping[str, str]
    metabolites: tuple[str, ...]
    states: tuple[str, ...]
    boundary_metabolites: Mapping[str, str]
    biomass_reaction: str
    boundary_slack: float
    whole_model: bool

    def sizes(self) -> dict[str, int]:
        """Numbers of reactions, metabolites, likely dynamic states and boundary metabolites."""
        return {
            "reactions": len(self.reactions),
            "metabolites": len(self.metabolites),
            "likely_states": len(self.states),
            "boundary_metabolites": len(self.boundary_metabolites),
        }


def _workflow_settings(settings: WorkflowSettings | Mapping[str, Any] | None) -> WorkflowSettings:
    if isinstance(settings, WorkflowSettings):
        return settings
    sections = ("core", "physiology", "biomass_reaction", "kinetics")
    return WorkflowSettings.from_section(
        {key: (settings or {})[key] for key in sections if key in (settings or {})}
    )


def select_core(
    model: cobra.Model, settings: WorkflowSettings | Mapping[str, Any] | None = None
) -> CoreDefinition:
    """The kinetic core of ``model`` as the config's ``core`` section chooses it.

    ``settings``: workflow settings or a config mapping (its ``core``, ``physiology``,
    ``biomass_reaction`` and ``kinetics`` sections are read; missing ones take the defaults).
    Raises :class:`CoreError` naming the config key and id for a subsystem, reaction or
    metabolite the model lacks, an empty core, a disconnected core or an unreachable product.
    """
    workflow = _workflow_settings(settings)
    core = workflow.core
    biomass = workflow.biomass_reaction
    if biomass not in model.reactions:
        raise config_error(
            "biomass_reaction", f"{biomass!r} is not a reaction of the model", CoreError
        )
    _check_ids(model, core, biomass)
    excluded = {r.id for r in model.boundary} | {biomass}
    origins = _selected(model, core, excluded)
    added = {r: "core.add_reactions" for r in core.add_reactions}
    if not origins:  # no subsystems: the pathways start from the additions
        origins.update(added)
    currency = set(workflow.physiology.small_molecules) | set(core.currency_metabolites)
    blocked = excluded | set(core.drop_reactions)
    for product in core.pathways_to:
        for reaction_id in pathway_to(model, set(origins), product, currency, blocked):
            origins.setdefault(reaction_id, f"pathway to {product}")
    origins.update(added)
    if not origins:
        raise config_error("core", "selects no reaction (an empty core)", CoreError)
    for reaction_id in _within(model, set(origins), blocked):
        origins[reaction_id] = "connects core metabolites only"
    reactions = tuple(r.id for r in model.reactions if r.id in origins)
    _check_connected(model, reactions)
    metabolites = _metabolites_of(model, reactions)
    kinetics = KineticsSettings.from_config(workflow)
    return CoreDefinition(
        reactions=reactions,
        origins={r: origins[r] for r in reactions},
        metabolites=metabolites,
        states=tuple(
            m for m in metabolites if is_state_metabolite(model.metabolites.get_by_id(m), kinetics)
        ),
        boundary_metabolites=_boundary_metabolites(model, set(reactions), metabolites, biomass),
        biomass_reaction=biomass,
        boundary_slack=core.boundary_slack,
        whole_model=core.whole_model,
    )


def _check_ids(model: cobra.Model, core: CoreSettings, biomass: str) -> None:
    subsystems = {r.subsystem for r in model.reactions}
    for name in core.subsystems:
        if name not in subsystems:
            known = ", ".join(sorted(repr(s) for s in subsystems if s))
            has = f"it has {known}" if known else "its reactions carry no subsystem annotations"
            raise config_error(
                "core.subsystems", f"the model has no subsystem {name!r} ({has})", CoreError
            )
    exchanges = {r.id for r in model.boundary}
    for key in ("add_reactions", "drop_reactions"):
        for reaction_id in getattr(core, key):
            if reaction_id not in model.reactions:
                raise config_error(f"core.{key}", f"unknown reaction {reaction_id!r}", CoreError)
            if key == "add_reactions" and (reaction_id in exchanges or reaction_id == biomass):
                raise config_error(
                    "core.add_reactions",
                    f"{reaction_id!r} is an exchange or the biomass reaction: the exchanges of "
                    "core metabolites are kept and the biomass reaction is lumped anyway",
                    CoreError,
                )
    for metabolite_id in core.pathways_to:
        if metabolite_id not in model.metabolites:
            raise config_error(
                "core.pathways_to", f"unknown metabolite {metabolite_id!r}", CoreError
            )


def _selected(model: cobra.Model, core: CoreSettings, excluded: set[str]) -> dict[str, str]:
    """Reaction id -> origin for the subsystems (everything when neither subsystems,
    additions nor pathways are configured), less the dropped reactions."""
    dropped = set(core.drop_reactions) | excluded
    if not core.selects:
        return {r.id: "whole model" for r in model.reactions if r.id not in dropped}
    origins: dict[str, str] = {}
    wanted = set(core.subsystems)
    for reaction in model.reactions:
        if reaction.subsystem in wanted and reaction.id not in dropped:
            origins[reaction.id] = f"subsystem {reaction.subsystem!r}"
    return origins


def _within(model: cobra.Model, reactions: set[str], blocked: set[str]) -> list[str]:
    """Reactions outside ``reactions`` (and ``blocked``) whose every metabolite is already a
    core metabolite (ADK1, a CO2 transport): they join the core instead of becoming boundary
    reactions that stand for a single reaction."""
    metabolites = set(_metabolites_of(model, reactions))
    return [
        r.id
        for r in model.reactions
        if r.id not in reactions
        and r.id not in blocked
        and all(m.id in metabolites for m in r.metabolites)
    ]


def _metabolites_of(model: cobra.Model, reactions: Iterable[str]) -> tuple[str, ...]:
    used = {m.id for r in reactions for m in model.reactions.get_by_id(r).metabolites}
    return tuple(m.id for m in model.metabolites if m.id in used)


# --------------------------------------------------------------------------------------------
# pathways


def _steps(model: cobra.Model, blocked: set[str]) -> list[tuple[Step, frozenset[str], set[str]]]:
    """Every allowed (reaction, direction) with its reactants and products."""
    found = []
    for reaction in model.reactions:
        if reaction.id in blocked:
            continue
        reactants = frozenset(m.id for m in reaction.reactants)
        products = {m.id for m in reaction.products}
        if reaction.upper_bound > 0:
            found.append(((reaction.id, 1), reactants, products))
        if reaction.lower_bound < 0:
            found.append(((reaction.id, -1), frozenset(products), set(reactants)))
    return found


def _expand(
    steps: list[tuple[Step, frozenset[str], set[str]]],
    available: set[str],
    product: str,
) -> dict[str, list[Step]]:
    """Forward expansion until ``product`` is made: metabolite -> the steps that make it in
    the round it is first made (empty dict: never made)."""
    made_by: dict[str, list[Step]] = {}
    known = set(available)
    while product not in known:
        new: dict[str, list[Step]] = {}
        for step, inputs, outputs in steps:
            if inputs <= known:
                for metabolite in outputs - known:
                    new.setdefault(metabolite, []).append(step)
        if not new:
            return {}
        made_by.update(new)
        known |= set(new)
    return made_by


def pathway_to(
    model: cobra.Model,
    core_reactions: set[str],
    product: str,
    currency: set[str],
    blocked: set[str],
) -> list[str]:
    """Reactions on the fewest-step pathways from the core's metabolites to ``product`` (see
    the module docstring); ``currency`` are base ids always available, ``blocked`` reaction
    ids never used. Raises :class:`CoreError` naming the product when none reaches it."""
    available = {m.id for r in core_reactions for m in model.reactions.get_by_id(r).metabolites}
    available |= {m.id for m in model.metabolites if base_id(m.id) in currency}
    if product in available:
        return []
    steps = _steps(model, blocked | core_reactions)
    made_by = _expand(steps, available, product)
    if not made_by:
        raise config_error(
            "core.pathways_to",
            f"no pathway from the core reaches {product!r} (every reactant of some step is "
            "neither made nor a core or currency metabolite)",
            CoreError,
        )
    inputs = {step: step_inputs for step, step_inputs, _ in steps}
    pathway: list[str] = []
    needed, seen = [product], {product}
    while needed:
        metabolite = needed.pop()
        for step in made_by.get(metabolite, []):
            if step[0] not in pathway:
                pathway.append(step[0])
            for reactant in inputs[step] - available - seen:
                seen.add(reactant)
                needed.append(reactant)
    return pathway


# --------------------------------------------------------------------------------------------
# checks and boundary


def _check_connected(model: cobra.Model, reactions: tuple[str, ...]) -> None:
    """One connected network through shared metabolites (H+ and H2O do not connect; a
    transport of water or protons alone is left out of the check)."""
    by_metabolite: dict[str, list[str]] = {}
    for reaction_id in reactions:
        for metabolite in model.reactions.get_by_id(reaction_id).metabolites:
            if not is_water_or_proton(metabolite):
                by_metabolite.setdefault(metabolite.id, []).append(reaction_id)
    linked_at_all = {r for linked in by_metabolite.values() for r in linked}
    reactions = tuple(r for r in reactions if r in linked_at_all)
    if not reactions:
        return
    neighbours: dict[str, set[str]] = {r: set() for r in reactions}
    for linked in by_metabolite.values():
        for reaction_id in linked:
            neighbours[reaction_id].update(linked)
    reached, frontier = {reactions[0]}, [reactions[0]]
    while frontier:
        for other in neighbours[frontier.pop()] - reached:
            reached.add(other)
            frontier.append(other)
    if len(reached) < len(reactions):
        parts = [r for r in reactions if r not in reached]
        if len(parts) > len(reached):
            parts = [r for r in reactions if r in reached]
        raise config_error(
            "core",
            f"is disconnected: reactions {parts[:10]}{' ...' if len(parts) > 10 else ''} share "
            "no metabolite (other than H+ and H2O) with the rest of the core",
            CoreError,
        )


def _boundary_metabolites(
    model: cobra.Model, reactions: set[str], metabolites: tuple[str, ...], biomass: str
) -> dict[str, str]:
    """Core metabolite -> the non-core reactions that make or use it, in words."""
    found: dict[str, str] = {}
    for metabolite_id in metabolites:
        outside = sorted(
            r.id
            for r in model.metabolites.get_by_id(metabolite_id).reactions
            if r.id not in reactions
        )
        if not outside:
            continue
        exchanges = [r for r in outside if model.reactions.get_by_id(r).boundary]
        others = [r for r in outside if r not in exchanges]
        parts = []
        if biomass in others:
            parts.append("a biomass component")
            others.remove(biomass)
        if exchanges:
            parts.append(f"exchanged with the medium ({', '.join(exchanges)})")
        if others:
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            listed = ", ".join(others[:5]) + more
            parts.append(f"made or used by {len(others)} non-core reaction(s): {listed}")
        found[metabolite_id] = "; ".join(parts)
    return found
