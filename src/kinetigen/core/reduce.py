"""The reduced model: the kinetic core plus boundary reactions that close its steady state.

:func:`core_boundary` works out what the rest of the network does to the core in a
reference steady state (a genome-scale FBA or pFBA solution, ``cobra.flux_analysis.pfba``);
:func:`reduce_to_core` builds the cobra model of the core with those boundary reactions;
:func:`reduce_in_environment` does both at an environment's genome-scale pFBA solution.

The rest of the network (the non-core reactions) falls apart, once the core's metabolites are
cut out, into connected *modules*: two non-core reactions are in one module when they share a
non-core metabolite. Every non-core metabolite lies inside one module, so a module's reference
fluxes are balanced on its own metabolites and its only net effect is on core metabolites
(and on the medium, through its exchanges). Each active module becomes one boundary reaction
with that net stoichiometry (per unit of its reference flux):

- **lumped biomass** (id: ``biomass_reaction``): the module that holds the genome-scale
  biomass reaction, i.e. the biomass with every non-core pathway that feeds it (amino acids,
  nucleotides, lipids, cofactors from core precursors; the by-products returned to the core,
  such as ADP, Pi, NADP or 2-oxoglutarate, are its products; so are nutrients whose uptake
  routes share a metabolite with it, e.g. NH4 and sulfate). Coefficients are the module's
  net flux per unit growth, so its flux is the growth rate;
- **drain** ``core_drain_<metabolite>`` (``m ->``) or **supply** ``core_supply_<metabolite>``
  (``-> m``): a module that touches one core metabolite (e.g. the secretion route of
  formate when its transport is not in the core);
- **lumped exchange** ``core_lump_<reaction>``: a module that touches several core
  metabolites and no biomass (e.g. the PTS glucose route when the transport is not in the
  core: pep -> g6p + pyr), named after its largest-flux reaction that is not an exchange, its
  stoichiometry scaled so that its largest coefficient is 1.

Exchange reactions of core metabolites (``EX_glc__D_e`` when the core has the glucose porin)
stay as they are, with their bounds, so the medium of an environment applies unchanged.

Bounds. A module's fluxes scaled by a factor t are a genome-scale solution as long as every
one of its reactions stays within its bounds: t in [t_min, t_max] (t = 1 is the reference).
The lumped biomass gets [max(t_min, 0), t_max] times the reference growth; every other boundary
reaction gets [max(t_min, 1 - slack), min(t_max, 1 + slack)] times its reference flux
(``core.boundary_slack``), so its direction is fixed. Every flux distribution of the reduced
model is then a genome-scale one (core fluxes as they are, module k scaled by its t_k), and
the reference is one of the reduced model: so the reduced model's optimal growth equals the
genome-scale optimum when the reference is optimal (it does not depend on the slack).

Rate laws (for the kinetic stage). The boundary reactions have no thermodynamic data
(eQuilibrator finds them unbalanced or leaves them as boundary reactions), so they are
irreversible in their flux direction: the lumped biomass and lumped exchanges as
irreversible Michaelis-Menten over their substrates, each saturating once,
``v = Vmax prod_s x_s / (Km_s + x_s)``, as the biomass reaction is today; a drain as
irreversible Michaelis-Menten in its one metabolite, ``v = Vmax x / (Km + x)``, so its Km
joins the parameter space; a supply, which has no substrate in the core, is a constant rate
(the reference or sampled flux), like an uptake at a fixed rate. Products never saturate an
irreversible law. :func:`kinetigen.kinetics.build_kinetic_model` builds exactly these
laws: boundary reactions without a dG column are irreversible, and a drain or supply, unlike
an exchange with the medium, changes a state and so is kept.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cobra
import pandas as pd
from cobra.exceptions import OptimizationError
from cobra.flux_analysis import pfba

from kinetigen.core.select import CoreDefinition, CoreError
from kinetigen.network import REDUCED_FROM, apply_environment, default_solver

# Reference fluxes and net coefficients at or below this (mmol/gDW/h) count as zero.
FLUX_TOLERANCE = 1e-9

BIOMASS = "biomass"
DRAIN = "drain"
SUPPLY = "supply"
LUMPED_EXCHANGE = "lumped_exchange"
EXCHANGE = "exchange"


@dataclass(frozen=True)
class BoundaryReaction:
    """One boundary reaction of the reduced model.

    ``stoichiometry``: core metabolite -> coefficient (per unit flux); ``reference_flux``:
    its flux in the reference solution (mmol/gDW/h; the growth rate for the biomass);
    ``bounds``: its flux bounds in the reduced model; ``stands_for``: the genome-scale
    reactions it replaces, largest reference flux first (exchanges last); ``reason``: why
    it is there; ``scale_range``: its bounds over its reference flux.
    """

    id: str
    kind: str
    stoichiometry: Mapping[str, float]
    reference_flux: float
    bounds: tuple[float, float]
    stands_for: tuple[str, ...]
    reason: str
    scale_range: tuple[float, float] = field(default=(1.0, 1.0))


def _modules(model: cobra.Model, core: CoreDefinition) -> list[list[cobra.Reaction]]:
    """Non-core reactions (exchanges of core metabolites aside) grouped into modules that
    share non-core metabolites (union-find)."""
    core_reactions, core_metabolites = set(core.reactions), set(core.metabolites)
    outside = [
        r
        for r in model.reactions
        if r.id not in core_reactions and not _is_core_exchange(r, core_metabolites)
    ]
    parent = {r.id: r.id for r in outside}

    def root(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    first_of: dict[str, str] = {}
    for reaction in outside:
        for metabolite in reaction.metabolites:
            if metabolite.id in core_metabolites:
                continue
            other = first_of.setdefault(metabolite.id, reaction.id)
            parent[root(reaction.id)] = root(other)
    groups: dict[str, list[cobra.Reaction]] = {}
    for reaction in outside:
        groups.setdefault(root(reaction.id), []).append(reaction)
    return list(groups.values())


def _is_core_exchange(reaction: cobra.Reaction, core_metabolites: set[str]) -> bool:
    return reaction.boundary and all(m.id in core_metabolites for m in reaction.metabolites)


def _flux_range(
    reactions: list[cobra.Reaction], fluxes: Mapping[str, float], reference: float
) -> tuple[float, float]:
    """[t_min, t_max] times ``reference``: the factors t with lb <= t v <= ub for every
    reaction of a module (computed as bound * (reference / v), so that a reaction whose
    flux is the reference gives its own bound exactly)."""
    low, high = -math.inf, math.inf
    for reaction in reactions:
        flux = fluxes[reaction.id]
        if abs(flux) <= FLUX_TOLERANCE:
            continue
        ends = sorted(bound * (reference / flux) for bound in reaction.bounds)
        low, high = max(low, ends[0]), min(high, ends[1])
    return low, high


def _net_effect(
    reactions: list[cobra.Reaction], fluxes: Mapping[str, float], core_metabolites: set[str]
) -> dict[str, float]:
    net: dict[str, float] = {}
    for reaction in reactions:
        for metabolite, coefficient in reaction.metabolites.items():
            if metabolite.id in core_metabolites:
                net[metabolite.id] = net.get(metabolite.id, 0.0) + coefficient * fluxes[reaction.id]
    return {m: value for m, value in net.items() if abs(value) > FLUX_TOLERANCE}


def _reference(model: cobra.Model, reference_fluxes: Mapping[str, float] | pd.Series) -> dict:
    fluxes = {str(k): float(v) for k, v in dict(reference_fluxes).items()}
    missing = [r.id for r in model.reactions if r.id not in fluxes]
    if missing:
        raise CoreError(f"the reference solution lacks fluxes of {missing[:5]}")
    return fluxes


def core_boundary(
    model: cobra.Model, core: CoreDefinition, reference_fluxes: Mapping[str, float] | pd.Series
) -> list[BoundaryReaction]:
    """The boundary reactions that close the core's steady state at ``reference_fluxes``
    (one flux per reaction of ``model``, mmol/gDW/h); see the module docstring. Raises
    :class:`CoreError` when the reference does not grow or a module cannot be closed."""
    fluxes = _reference(model, reference_fluxes)
    growth = fluxes[core.biomass_reaction]
    if not growth > FLUX_TOLERANCE:
        raise CoreError(
            f"the reference solution does not grow ({core.biomass_reaction} = {growth:g})"
        )
    core_metabolites = set(core.metabolites)
    found = [
        _exchange(reaction, fluxes[reaction.id])
        for reaction in model.reactions
        if reaction.id not in core.reactions and _is_core_exchange(reaction, core_metabolites)
    ]
    for module in _modules(model, core):
        active = sorted(
            (r for r in module if abs(fluxes[r.id]) > FLUX_TOLERANCE),
            key=lambda r: (r.boundary, -abs(fluxes[r.id])),
        )
        net = _net_effect(active, fluxes, core_metabolites)
        if not net:
            continue  # inactive, or a cycle with no effect on the core
        stands_for = tuple(r.id for r in active)
        if core.biomass_reaction in stands_for:
            limits = _flux_range(active, fluxes, growth)
            found.append(_lumped_biomass(core, net, growth, limits, stands_for))
        else:
            reference = max(abs(value) for value in net.values())
            limits = _flux_range(active, fluxes, reference)
            item = _module_reaction(net, limits, stands_for, core.boundary_slack)
            if any(b.id == item.id for b in found):  # two routes draining one metabolite
                item = dataclasses.replace(item, id=f"{item.id}_{stands_for[0]}")
            found.append(item)
    if not any(b.kind == BIOMASS for b in found):
        raise CoreError(f"no boundary reaction holds the biomass ({core.biomass_reaction})")
    return found


def _exchange(reaction: cobra.Reaction, flux: float) -> BoundaryReaction:
    return BoundaryReaction(
        id=reaction.id,
        kind=EXCHANGE,
        stoichiometry={m.id: float(c) for m, c in reaction.metabolites.items()},
        reference_flux=flux,
        bounds=reaction.bounds,
        stands_for=(reaction.id,),
        reason="exchange of a core metabolite with the medium, kept with its bounds",
    )


def _lumped_biomass(
    core: CoreDefinition,
    net: dict[str, float],
    growth: float,
    limits: tuple[float, float],
    stands_for: tuple[str, ...],
) -> BoundaryReaction:
    low, high = max(limits[0], 0.0), limits[1]
    drawn = sum(1 for value in net.values() if value < 0)
    return BoundaryReaction(
        id=core.biomass_reaction,
        kind=BIOMASS,
        stoichiometry={m: value / growth for m, value in net.items()},
        reference_flux=growth,
        bounds=(low, high),
        stands_for=stands_for,
        reason=(
            f"lumped biomass: the genome-scale biomass reaction with the {len(stands_for) - 1} "
            f"active non-core reactions that feed it; draws {drawn} core precursors and "
            f"returns {len(net) - drawn} by-products per unit growth, at the reference fluxes"
        ),
        scale_range=(low / growth, high / growth),
    )


def _module_reaction(
    net: dict[str, float], limits: tuple[float, float], stands_for: tuple[str, ...], slack: float
) -> BoundaryReaction:
    """A drain, supply or lumped exchange; ``limits``: its flux range from the genome-scale
    bounds, for a reference flux of the largest |net| coefficient."""
    reference = max(abs(value) for value in net.values())
    low = max(limits[0], (1.0 - slack) * reference)
    high = min(limits[1], (1.0 + slack) * reference)
    route = ", ".join(stands_for[:4]) + (" ..." if len(stands_for) > 4 else "")
    if len(net) == 1:
        ((metabolite, value),) = net.items()
        kind = SUPPLY if value > 0 else DRAIN
        identifier = f"core_{kind}_{metabolite}"
        verb = "makes" if value > 0 else "uses"
        reason = f"the rest of the network {verb} {metabolite} (through {route})"
    else:
        kind, identifier = LUMPED_EXCHANGE, f"core_lump_{stands_for[0]}"
        reason = f"lumped non-core pathway ({route}) that exchanges {len(net)} core metabolites"
    return BoundaryReaction(
        id=identifier,
        kind=kind,
        stoichiometry={m: value / reference for m, value in net.items()},
        reference_flux=reference,
        bounds=(low, high),
        stands_for=stands_for,
        reason=reason,
        scale_range=(low / reference, high / reference),
    )


def reduced_reference(
    core: CoreDefinition,
    boundary: Sequence[BoundaryReaction],
    reference_fluxes: Mapping[str, float] | pd.Series,
) -> dict[str, float]:
    """The reference solution as a flux distribution of the reduced model: the core's
    reactions as in ``reference_fluxes``, each boundary reaction at its reference flux (a
    steady state of the reduced model by construction)."""
    fluxes = {r: float(reference_fluxes[r]) for r in core.reactions}
    fluxes.update({b.id: b.reference_flux for b in boundary})
    return fluxes


def reduce_to_core(
    model: cobra.Model, core: CoreDefinition, reference_fluxes: Mapping[str, float] | pd.Series
) -> cobra.Model:
    """The cobra model of the core: its reactions as in ``model`` (bounds included) plus the
    boundary reactions of :func:`core_boundary` (their reasons in ``reaction.notes``), with
    the lumped biomass as objective. ``model`` should carry the bounds of the environment
    the reference solution was computed in; it is not changed."""
    return reduced_model(model, core, core_boundary(model, core, reference_fluxes))


def reduced_model(
    model: cobra.Model, core: CoreDefinition, boundary: Sequence[BoundaryReaction]
) -> cobra.Model:
    """The cobra model of the core with the given boundary reactions (see
    :func:`reduce_to_core`)."""
    with default_solver(model.solver.interface):
        reduced = cobra.Model(f"{model.id}_core")
    reduced.compartments = dict(model.compartments)
    reduced.add_metabolites([model.metabolites.get_by_id(m).copy() for m in core.metabolites])
    reactions = []
    for reaction_id in core.reactions + tuple(b.id for b in boundary if b.kind == EXCHANGE):
        original = model.reactions.get_by_id(reaction_id)
        copied = cobra.Reaction(original.id, original.name, original.subsystem, *original.bounds)
        reactions.append((copied, {m.id: c for m, c in original.metabolites.items()}))
    for item in boundary:
        if item.kind == EXCHANGE:
            continue
        copied = cobra.Reaction(item.id, item.kind.replace("_", " "), "Kinetic core boundary")
        copied.bounds = item.bounds
        copied.notes = {"kinetigen_core": item.reason}
        reactions.append((copied, dict(item.stoichiometry)))
    reduced.add_reactions([reaction for reaction, _ in reactions])
    for reaction, stoichiometry in reactions:
        reaction.add_metabolites(
            {reduced.metabolites.get_by_id(m): c for m, c in stoichiometry.items()}
        )
    reduced.objective = core.biomass_reaction
    reduced.notes = {REDUCED_FROM: model.id}
    return reduced


@dataclass(frozen=True)
class CoreReduction:
    """The core reduced in one environment: the reduced ``model``, its ``boundary``
    reactions, the genome-scale ``reference_fluxes`` (pFBA) and their ``growth`` (1/h)."""

    environment: str
    model: cobra.Model
    boundary: tuple[BoundaryReaction, ...]
    reference_fluxes: pd.Series
    growth: float


def reduce_in_environment(
    model: cobra.Model, core: CoreDefinition, name: str, environment: Mapping[str, Any]
) -> CoreReduction:
    """Reduce the core at the genome-scale pFBA solution of environment ``name`` (its config
    entry: reaction bounds, measured fluxes), whose bounds the reduced model keeps. Each
    environment needs its own reduction: the lumped biomass carries the routes of its
    reference. ``model`` is not changed."""
    with model:
        apply_environment(model, name, environment)
        try:
            fluxes = pfba(model).fluxes
        except OptimizationError as error:
            raise CoreError(f"environment {name!r}: no genome-scale reference ({error})") from None
        boundary = tuple(core_boundary(model, core, fluxes))
        reduced = reduced_model(model, core, boundary)
    return CoreReduction(
        environment=name,
        model=reduced,
        boundary=boundary,
        reference_fluxes=fluxes,
        growth=float(fluxes[core.biomass_reaction]),
    )
