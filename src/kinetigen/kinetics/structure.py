"""Kinetic model of one environment: rate laws, states, moieties and steady-state data.

All steady states of one environment share one directionality profile, so the structure
(which reactions are active, in which direction, which rate law each gets) is built once and
the steady states differ only in values (concentrations, fluxes, Gibbs energies).

Conventions (DESIGN.md 2.4):

- concentrations in mol/L, time in hours; fluxes are converted from mmol/gDW/h with the cell
  density, so rates are mol/L/h and Jacobian eigenvalues 1/h;
- states are the intracellular metabolites of the model's reactions, except H+ and H2O;
  metabolites of boundary compartments (extracellular) are constant concentrations; H+ and
  H2O are constant and enter no rate law (their activity is part of the transformed dG'0);
  by default (kinetics.constant_small_molecules) the small molecules are constant too, in
  every compartment: they never saturate, so as states whose reactions are far from
  equilibrium they would barely influence any rate and leave eigenvalues near zero that no Km
  can move (on e_coli_core nh4_c and o2_c did exactly that);
- every active reaction that changes a state gets a rate law written in its flux direction
  (exchanges with the medium change none; a reduced model's drains and supplies do):
  ``v = direction * Vmax * prod_s u_s^n_s * (1 - Gamma) / D`` with ``u = x / Km``;
  reversible laws (reactions with a dG column) use convenience kinetics,
  ``D = prod_s P_s + prod_p P_p - 1`` with ``P = sum_{k=0..n} u^k`` (reversible
  Michaelis-Menten for 1:1 reactions) and ``Gamma = exp(direction * dG / RT)`` at the reference
  state; irreversible laws (the biomass reaction, reactions without thermodynamic data) use
  ``Gamma = 0`` and ``D = prod_s P_s`` (irreversible Michaelis-Menten);
- small molecules enter Gamma but never saturate a reversible law. In an irreversible law there
  is no Gamma, so a small molecule (other than H+ and H2O) saturates there like any substrate:
  otherwise the rate would ignore it and a depleted small molecule would go on being consumed;
- the biomass reaction saturates once per substrate (its coefficients are not cooperativity);
  so does a reactant with a fractional coefficient (e.g. 0.5 O2);
- ``kinetics.biomass_law`` chooses the biomass reaction's law: ``lumped`` (the default), one
  irreversible Michaelis-Menten law over all its substrates, or ``per_substrate``, one
  irreversible Michaelis-Menten drain per state substrate, which also make the products
  (:mod:`kinetigen.kinetics.drains`). The drains are pseudo-reactions of the kinetic model
  (ids ``<biomass>__<substrate>``, ``<biomass>__rest``), each with its own stoichiometry
  column and a flux column equal to the biomass flux, so everything downstream (Vmax from
  the flux, the batched Jacobian, the nonlinear model, SBML) treats them as ordinary
  reactions; ``RateLaw.parent`` names the biomass reaction, so each drain's Km keeps the
  lumped law's name ``km_<biomass>_<substrate>`` and the Km space does not grow (it loses
  the Km of constant substrates, e.g. CO2, whose drains would change no state).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cobra
import numpy as np
import pandas as pd
import scipy.linalg

from kinetigen.columns import DG_PREFIX, FLUX_PREFIX, LNC_PREFIX
from kinetigen.kinetics.drains import PER_SUBSTRATE, split_biomass
from kinetigen.kinetics.settings import KineticsSettings, as_settings
from kinetigen.kinetics.split import SteadyStateSplit
from kinetigen.kinetics.validity import validity_threshold
from kinetigen.network import base_id, is_water_or_proton
from kinetigen.schema import config_error

logger = logging.getLogger(__name__)

REVERSIBLE_MM = "reversible_mm"
CONVENIENCE = "convenience"
IRREVERSIBLE_MM = "irreversible_mm"

class KineticModelError(ValueError):
    """The steady states or the network do not allow a kinetic model."""


@dataclass(frozen=True)
class RateLaw:
    """Rate law of one reaction, written in its flux direction.

    ``substrates`` and ``products`` are the saturating reactants (metabolite id, exponent);
    ``thermodynamic`` lists (metabolite id, model stoichiometric coefficient) of every reactant
    in the displacement Gamma (empty for irreversible laws).
    """

    reaction: str
    kind: str
    direction: int
    substrates: tuple[tuple[str, int], ...]
    products: tuple[tuple[str, int], ...]
    thermodynamic: tuple[tuple[str, float], ...]
    # The model reaction a pseudo-reaction stands for (a biomass drain); "" for a reaction
    # of the model itself.
    parent: str = ""
    # A biomass drain's share of growth (kinetigen.kinetics.drains); 0 for the others.
    growth_share: float = 0.0

    @property
    def reversible(self) -> bool:
        return self.kind != IRREVERSIBLE_MM

    @property
    def km_reaction(self) -> str:
        """The reaction that names this law's Km (``km_<km_reaction>_<metabolite>``)."""
        return self.parent or self.reaction


@dataclass(frozen=True)
class KmParameter:
    """One Michaelis constant ``km_<reaction>_<metabolite>``; role as the model writes the
    reaction (a reactant is a substrate)."""

    name: str
    reaction: str
    metabolite: str
    role: str


@dataclass(frozen=True, eq=False)
class Layout:
    """Index arrays that the numerical code uses (one Km parameter = one saturation slot).

    Parameters p: ``param_reaction``, ``param_metabolite`` (index into
    ``KineticModel.metabolites``), ``param_exponent``, ``param_substrate`` (flux direction),
    ``param_entry`` (elasticity entry, -1 for a constant metabolite).
    Thermodynamic terms t: ``thermo_reaction``, ``thermo_metabolite``, ``thermo_coefficient``
    (flux-oriented), ``thermo_entry``. Elasticity entries k (the nonzero pattern of
    d ln v / d ln x over states): ``entry_reaction``, ``entry_state``.
    """

    param_reaction: np.ndarray
    param_metabolite: np.ndarray
    param_exponent: np.ndarray
    param_substrate: np.ndarray
    param_entry: np.ndarray
    thermo_reaction: np.ndarray
    thermo_metabolite: np.ndarray
    thermo_coefficient: np.ndarray
    thermo_entry: np.ndarray
    entry_reaction: np.ndarray
    entry_state: np.ndarray
    reversible: np.ndarray
    direction: np.ndarray


@dataclass(eq=False)
class KineticModel:
    """Kinetic model structure of one environment plus its steady states.

    ``metabolites`` = ``states`` followed by ``boundary`` (constant concentrations);
    ``fixed`` are H+ and H2O (constant, in no rate law). Steady-state arrays have one row per
    sample: ``ln_concentration`` [S, metabolites] (ln mol/L), ``flux`` [S, reactions]
    (mol/L/h, signed, model orientation), ``dg`` and ``ln_keq`` [S, reactions] (kJ/mol and
    ln Keq in model orientation; NaN for irreversible laws), ``growth_rate`` and ``threshold``
    [S] (1/h). Moieties: ``x[dependent] = totals + link @ x[independent]``.
    """

    environment: str
    settings: KineticsSettings
    rate_laws: list[RateLaw]
    states: list[str]
    boundary: list[str]
    fixed: list[str]
    stoichiometry: np.ndarray
    reaction_metabolites: list[dict[str, float]]
    compartments: dict[str, str]
    names: dict[str, str]
    parameters: list[KmParameter]
    layout: Layout
    independent: np.ndarray
    dependent: np.ndarray
    link: np.ndarray
    sample_ids: list[Any]
    ln_concentration: np.ndarray
    flux: np.ndarray
    dg: np.ndarray
    ln_keq: np.ndarray
    growth_rate: np.ndarray
    threshold: np.ndarray

    @property
    def reactions(self) -> list[str]:
        return [law.reaction for law in self.rate_laws]

    @property
    def metabolites(self) -> list[str]:
        return self.states + self.boundary

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def n_steady_states(self) -> int:
        return len(self.sample_ids)

    @property
    def split(self) -> SteadyStateSplit:
        """Training and evaluation steady-state positions (``kinetics.split``)."""
        return self.settings.split(self.n_steady_states, self.environment, self.sample_ids)

    @property
    def n_reduced(self) -> int:
        return len(self.independent)

    def sizes(self) -> dict[str, int]:
        """Numbers of states, independent states, moieties, reactions, Km and steady states."""
        return {
            "states": len(self.states),
            "independent_states": len(self.independent),
            "moieties": len(self.dependent),
            "boundary_metabolites": len(self.boundary),
            "reactions": len(self.rate_laws),
            "reversible_reactions": int(self.layout.reversible.sum()),
            "km_parameters": len(self.parameters),
            "steady_states": self.n_steady_states,
        }

    def growth_weights(self) -> np.ndarray:
        """Weights g [reactions] of the growth flux J_mu = g . v (mol/L/h), mu = J_mu /
        ``settings.flux_to_molar_rate`` (1/h); all zero when the biomass reaction is not
        active. The one definition of growth that the bioreactor and the control analysis use.

        Lumped: the biomass reaction itself (weight 1). Drained (``biomass_law:
        per_substrate``): the weighted mean of the substrate drains, weight g_s the drain's
        share of the carbon that enters biomass (``RateLaw.growth_share``,
        :func:`kinetigen.kinetics.drains.growth_shares`; zero for the ATP, NADH and NADPH
        drains, which return their moiety whole). Every drain runs at the biomass flux at
        every steady state, so J_mu equals it there (mu is exactly the sampled growth rate);
        away from it mu is the carbon-weighted mean of the drains' rates relative to their
        steady-state rates, times the growth rate. Being linear in v, its control
        coefficients are the g-and-flux-weighted mean of the drains' (exact to first order,
        summation holds). A constant-rate rest (only where the biomass consumes no state)
        is left out: it does not respond.
        """
        biomass = self.settings.biomass_reaction
        weights = np.zeros(len(self.rate_laws))
        for j, law in enumerate(self.rate_laws):
            if law.reaction == biomass:
                weights[j] = 1.0
            elif law.parent == biomass and law.substrates:
                weights[j] = law.growth_share
        total = weights.sum()
        return weights / total if total > 0 else weights

    def concentrations(self, steady_state: int) -> np.ndarray:
        """Concentrations (mol/L) of ``metabolites`` in steady state ``steady_state``
        (position, not sample id)."""
        return np.exp(self.ln_concentration[steady_state])

    def ln_km_from_saturation(self, saturation: np.ndarray, steady_state: np.ndarray) -> np.ndarray:
        """ln Km from saturations sigma = x/(x+Km) in (0, 1): Km = x (1 - sigma) / sigma.

        ``saturation`` [B, P], ``steady_state`` [B] positions; returns ln(Km / (mol/L)).
        """
        saturation = np.asarray(saturation, dtype=float)
        ln_x = self.ln_concentration[np.asarray(steady_state)][:, self.layout.param_metabolite]
        return ln_x + np.log1p(-saturation) - np.log(saturation)

    def saturation_from_ln_km(self, ln_km: np.ndarray, steady_state: np.ndarray) -> np.ndarray:
        """Saturations sigma = x/(x+Km) of ``ln_km`` [B, P] at steady states [B]."""
        ln_x = self.ln_concentration[np.asarray(steady_state)][:, self.layout.param_metabolite]
        return 1.0 / (1.0 + np.exp(np.asarray(ln_km, dtype=float) - ln_x))

    def position(self, sample_id: Any) -> int:
        """Position of a sample id (the steady-state DataFrame index label)."""
        try:
            return self.sample_ids.index(sample_id)
        except ValueError as error:
            raise KeyError(
                f"environment {self.environment!r}: no steady state with id {sample_id!r}"
            ) from error


def is_state_metabolite(metabolite: cobra.Metabolite, settings: KineticsSettings) -> bool:
    """Dynamic in the kinetic model? H+ and H2O, boundary compartments and (by default) the
    small molecules keep constant concentrations."""
    if is_water_or_proton(metabolite) or metabolite.compartment in settings.boundary_compartments:
        return False
    return not (
        settings.constant_small_molecules and base_id(metabolite.id) in settings.small_molecules
    )


def _exponent(coefficient: float) -> int:
    """Saturation exponent: the coefficient when it is a whole number, else 1.

    Convenience kinetics needs whole exponents; Gamma keeps the exact coefficient, so the
    law stays Haldane-consistent either way.
    """
    magnitude = abs(coefficient)
    whole = round(magnitude)
    return int(whole) if whole >= 1 and abs(magnitude - whole) < 1e-9 else 1


def _rate_law(
    reaction: cobra.Reaction,
    direction: int,
    reversible: bool,
    biomass: bool,
    settings: KineticsSettings,
) -> RateLaw:
    small = set(settings.small_molecules)
    substrates: list[tuple[str, int]] = []
    products: list[tuple[str, int]] = []
    thermodynamic: list[tuple[str, float]] = []
    for metabolite, coefficient in reaction.metabolites.items():
        if is_water_or_proton(metabolite):
            continue
        if reversible:
            thermodynamic.append((metabolite.id, float(coefficient)))
            if base_id(metabolite.id) in small:
                continue
        consumed = direction * coefficient < 0
        if not reversible and not consumed:
            continue  # irreversible laws ignore their products
        exponent = 1 if biomass else _exponent(coefficient)
        (substrates if consumed else products).append((metabolite.id, exponent))
    if not reversible:
        kind = IRREVERSIBLE_MM
    elif (
        len(substrates) == 1
        and len(products) == 1
        and substrates[0][1] == 1
        and products[0][1] == 1
    ):
        kind = REVERSIBLE_MM
    else:
        kind = CONVENIENCE
    return RateLaw(
        reaction=reaction.id,
        kind=kind,
        direction=int(direction),
        substrates=tuple(substrates),
        products=tuple(products),
        thermodynamic=tuple(thermodynamic),
    )


def conservation_analysis(
    stoichiometry: np.ndarray, rtol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split metabolites (rows) into independent and dependent ones.

    Column-pivoted QR of N^T picks a maximal set of linearly independent rows N_I; the others
    obey N_D = L0 N_I, so ``x_D - L0 x_I`` is conserved. Returns (independent rows,
    dependent rows, L0), both index arrays sorted.
    """
    n_rows = stoichiometry.shape[0]
    if n_rows == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros((0, 0))
    _, r_factor, pivots = scipy.linalg.qr(stoichiometry.T, pivoting=True, mode="economic")
    diagonal = np.abs(np.diag(r_factor))
    rank = int(np.sum(diagonal > rtol * max(diagonal.max(initial=0.0), 1.0)))
    independent = np.sort(pivots[:rank])
    dependent = np.sort(pivots[rank:])
    if len(dependent) == 0:
        return independent, dependent, np.zeros((0, rank))
    n_independent = stoichiometry[independent]
    link_t, *_ = np.linalg.lstsq(n_independent.T, stoichiometry[dependent].T, rcond=None)
    link = link_t.T
    link[np.abs(link) < 1e-12] = 0.0
    residual = np.abs(link @ n_independent - stoichiometry[dependent]).max()
    if residual > 1e-8 * max(1.0, np.abs(stoichiometry).max()):
        raise KineticModelError(f"conservation analysis failed (residual {residual:.3g})")
    return independent, dependent, link


def _column(samples: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(samples[column], errors="coerce").to_numpy(float)


def build_kinetic_model(
    cobra_model: cobra.Model,
    samples: pd.DataFrame,
    config: KineticsSettings | Mapping[str, Any],
    environment: str = "environment",
) -> KineticModel:
    """Build the kinetic model of one environment from its steady-state samples.

    Parameters
    ----------
    cobra_model
        The network (bounds are not used; only stoichiometry, compartments, boundary).
    samples
        One row per steady state: ``flux:<reaction>`` (mmol/gDW/h, every reaction),
        ``lnc:<metabolite>`` (ln mol/L), ``dg:<reaction>`` (kJ/mol, constrained reactions).
        The index labels identify the samples.
    config
        Workflow config mapping (``physiology``, ``biomass_reaction``, ``kinetics``) or
        ready :class:`KineticsSettings`.
    environment
        Name used in messages and outputs.
    """
    settings = as_settings(config)
    _check_samples(cobra_model, samples, settings, environment)
    reactions = _active_reactions(cobra_model, samples, settings, environment)
    if settings.biomass_law == PER_SUBSTRATE:
        reactions = _per_substrate_biomass(cobra_model, reactions, settings, environment)
    laws, reaction_metabolites = reactions.laws, reactions.metabolites
    # Metabolites of the kept reactions, in model order.
    used = {m for coefficients in reaction_metabolites for m in coefficients}
    states, boundary, fixed = _partition_metabolites(cobra_model, used, settings)
    metabolites = states + boundary
    ln_concentration = _ln_concentrations(samples, metabolites, environment)
    index = {m: i for i, m in enumerate(metabolites)}
    state_index = {m: i for i, m in enumerate(states)}
    stoichiometry = _state_stoichiometry(reaction_metabolites, state_index)
    parameters, layout = _layout(laws, reaction_metabolites, index, state_index)
    dg = np.column_stack(reactions.dg)
    growth_rate = _growth_rates(samples, settings, environment)
    independent, dependent, link = conservation_analysis(stoichiometry)
    model = KineticModel(
        environment=environment,
        settings=settings,
        rate_laws=laws,
        states=states,
        boundary=boundary,
        fixed=fixed,
        stoichiometry=stoichiometry,
        reaction_metabolites=reaction_metabolites,
        compartments={m.id: m.compartment for m in cobra_model.metabolites if m.id in used},
        names={m.id: m.name or m.id for m in cobra_model.metabolites if m.id in used},
        parameters=parameters,
        layout=layout,
        independent=independent,
        dependent=dependent,
        link=link,
        sample_ids=list(samples.index),
        ln_concentration=ln_concentration,
        flux=np.column_stack(reactions.fluxes) * settings.flux_to_molar_rate,
        dg=dg,
        ln_keq=_ln_keq(laws, dg, ln_concentration, index, settings.rt),
        growth_rate=growth_rate,
        threshold=validity_threshold(growth_rate, settings),
    )
    _check_steady_state(model)
    _check_structure(model)
    logger.info("%s: kinetic model %s", environment, model.sizes())
    return model


def _first_few(ids: Sequence[str]) -> str:
    return f"{list(ids[:5])}" + (" ..." if len(ids) > 5 else "")


def _check_samples(
    cobra_model: cobra.Model, samples: pd.DataFrame, settings: KineticsSettings, environment: str
) -> None:
    """Steady states given, the biomass reaction known, a flux column for every reaction."""
    if len(samples) == 0:
        raise KineticModelError(f"environment {environment!r}: no steady states given")
    if settings.biomass_reaction not in cobra_model.reactions:
        raise config_error(
            "biomass_reaction",
            f"{settings.biomass_reaction!r} is not a reaction of the model",
            KineticModelError,
        )
    missing = [r.id for r in cobra_model.reactions if FLUX_PREFIX + r.id not in samples]
    if missing:
        raise KineticModelError(
            f"environment {environment!r}: steady states lack flux columns for "
            + _first_few(missing)
        )


@dataclass
class _Reactions:
    """The kinetic model's reactions before the layout: rate laws, stoichiometries
    (metabolite id -> coefficient), flux columns (mmol/gDW/h) and dG columns (kJ/mol)."""

    laws: list[RateLaw]
    metabolites: list[dict[str, float]]
    fluxes: list[np.ndarray]
    dg: list[np.ndarray]


def _active_reactions(
    cobra_model: cobra.Model, samples: pd.DataFrame, settings: KineticsSettings, environment: str
) -> _Reactions:
    """Rate law, stoichiometry, flux column (mmol/gDW/h) and dG column (kJ/mol; NaN without
    data) of every active reaction that changes a state, in model order. Exchanges with the
    medium change none; a boundary reaction on a state (a reduced model's drain or supply of
    a core metabolite, :mod:`kinetigen.core.reduce`) is kept, irreversible in its flux
    direction."""
    boundary_reactions = {reaction.id for reaction in cobra_model.boundary}
    laws: list[RateLaw] = []
    active_fluxes: list[np.ndarray] = []
    dg_columns: list[np.ndarray] = []
    skipped: list[str] = []
    irreversible_no_data: list[str] = []
    for reaction in cobra_model.reactions:
        changes_a_state = any(is_state_metabolite(m, settings) for m in reaction.metabolites)
        if reaction.id in boundary_reactions and not changes_a_state:
            continue  # an exchange with the medium
        flux = _column(samples, FLUX_PREFIX + reaction.id)
        direction = _flux_direction(reaction.id, flux, settings, environment)
        if direction == 0:
            continue
        if not changes_a_state:
            skipped.append(reaction.id)  # changes no state (e.g. water transport)
            continue
        biomass = reaction.id == settings.biomass_reaction
        dg = (
            _column(samples, DG_PREFIX + reaction.id)
            if DG_PREFIX + reaction.id in samples and not biomass
            else np.full(len(samples), np.nan)
        )
        reversible = _has_energies(reaction.id, direction, dg, samples, environment)
        if not reversible and not biomass:
            irreversible_no_data.append(reaction.id)
        laws.append(_rate_law(reaction, direction, reversible, biomass, settings))
        active_fluxes.append(flux)
        dg_columns.append(dg)
    if not laws:
        raise KineticModelError(f"environment {environment!r}: no active reactions")
    if skipped:
        logger.info("%s: active reactions that change no state, left out: %s", environment, skipped)
    if irreversible_no_data:
        logger.info(
            "%s: active reactions without dG data, irreversible in their flux direction: %s",
            environment,
            irreversible_no_data,
        )
    metabolites = [
        {m.id: float(c) for m, c in cobra_model.reactions.get_by_id(r).metabolites.items()}
        for r in (law.reaction for law in laws)
    ]
    return _Reactions(laws, metabolites, active_fluxes, dg_columns)


def _per_substrate_biomass(
    cobra_model: cobra.Model, reactions: _Reactions, settings: KineticsSettings, environment: str
) -> _Reactions:
    """``reactions`` with the biomass law replaced, in place, by one irreversible
    Michaelis-Menten drain per state substrate, which also make its products
    (:func:`kinetigen.kinetics.drains.split_biomass`); every part's flux is the biomass flux.
    Unchanged when the biomass reaction is not active."""
    biomass = settings.biomass_reaction
    positions = [j for j, law in enumerate(reactions.laws) if law.reaction == biomass]
    if not positions:
        return reactions
    j = positions[0]
    law = reactions.laws[j]
    used = {m for coefficients in reactions.metabolites for m in coefficients}
    states = _partition_metabolites(cobra_model, used, settings)[0]
    others = reactions.metabolites[:j] + reactions.metabolites[j + 1 :]
    parts = split_biomass(
        reactions.metabolites[j],
        law.direction,
        [m for m, _ in law.substrates],
        states,
        _state_stoichiometry(others, {m: i for i, m in enumerate(states)}),
        carbon={m.id: float(m.elements.get("C", 0)) for m in cobra_model.metabolites},
    )
    state_set = set(states)
    parts = [p for p in parts if any(m in state_set for m in p.coefficients)]
    laws = [
        RateLaw(
            reaction=part.reaction_id(biomass),
            kind=IRREVERSIBLE_MM,
            direction=law.direction,
            substrates=() if part.substrate is None else ((part.substrate, 1),),
            products=(),
            thermodynamic=(),
            parent=biomass,
            growth_share=part.growth_share,
        )
        for part in parts
    ]
    logger.info(
        "%s: biomass reaction %s split into %d drains%s",
        environment,
        biomass,
        sum(part.substrate is not None for part in parts),
        " and a constant-rate rest" if parts and parts[-1].substrate is None else "",
    )

    def spliced(items: list, new: list) -> list:
        return items[:j] + new + items[j + 1 :]

    split = _Reactions(
        spliced(reactions.laws, laws),
        spliced(reactions.metabolites, [part.coefficients for part in parts]),
        spliced(reactions.fluxes, [reactions.fluxes[j]] * len(parts)),
        spliced(reactions.dg, [reactions.dg[j]] * len(parts)),
    )
    state_index = {m: i for i, m in enumerate(states)}
    before, after = (
        len(conservation_analysis(_state_stoichiometry(r.metabolites, state_index))[1])
        for r in (reactions, split)
    )
    if after != before:
        logger.warning(
            "%s: the biomass drains conserve %d of the lumped model's %d moieties",
            environment,
            after,
            before,
        )
    return split


def _flux_direction(
    reaction: str, flux: np.ndarray, settings: KineticsSettings, environment: str
) -> int:
    """+1, -1 or 0 (inactive): the one direction of ``reaction`` in every steady state."""
    if not np.all(np.isfinite(flux)):
        raise KineticModelError(
            f"environment {environment!r}: non-finite flux of reaction {reaction!r}"
        )
    signs = np.where(np.abs(flux) > settings.active_flux_tol, np.sign(flux), 0.0)
    if np.any(signs != signs[0]):
        raise KineticModelError(
            f"environment {environment!r}: steady states disagree on the direction of "
            f"reaction {reaction!r} (one directionality profile per environment)"
        )
    return int(signs[0])


def _has_energies(
    reaction: str, direction: int, dg: np.ndarray, samples: pd.DataFrame, environment: str
) -> bool:
    """Whether ``reaction`` has dG in every steady state (then it is reversible), checked
    against its flux direction (second law); False when it has none."""
    if np.all(np.isnan(dg)):
        return False
    if np.any(~np.isfinite(dg)):
        raise KineticModelError(
            f"environment {environment!r}: dG of reaction {reaction!r} is missing or "
            "non-finite in some steady states"
        )
    wrong = np.flatnonzero(direction * dg >= 0)
    if len(wrong):
        sample = samples.index[wrong[0]]
        raise KineticModelError(
            f"environment {environment!r}, steady state {sample!r}: reaction "
            f"{reaction!r} carries flux {direction:+d} but dG = {dg[wrong[0]]:.4g} "
            "kJ/mol (second law violated)"
        )
    return True


def _partition_metabolites(
    cobra_model: cobra.Model, used: set[str], settings: KineticsSettings
) -> tuple[list[str], list[str], list[str]]:
    """States, boundary (constant) and fixed (H2O, H+) metabolites among ``used``."""
    states, boundary, fixed = [], [], []
    for metabolite in cobra_model.metabolites:
        if metabolite.id not in used:
            continue
        if is_water_or_proton(metabolite):
            fixed.append(metabolite.id)
        elif not is_state_metabolite(metabolite, settings):
            boundary.append(metabolite.id)
        else:
            states.append(metabolite.id)
    return states, boundary, fixed


def _ln_concentrations(
    samples: pd.DataFrame, metabolites: Sequence[str], environment: str
) -> np.ndarray:
    """[steady states, metabolites] ln concentrations (ln mol/L), all finite."""
    missing = [m for m in metabolites if LNC_PREFIX + m not in samples]
    if missing:
        raise KineticModelError(
            f"environment {environment!r}: steady states lack ln-concentration columns for "
            + _first_few(missing)
        )
    ln_concentration = np.column_stack([_column(samples, LNC_PREFIX + m) for m in metabolites])
    bad = np.flatnonzero(~np.isfinite(ln_concentration).all(axis=0))
    if len(bad):
        raise KineticModelError(
            f"environment {environment!r}: non-finite ln concentration of {metabolites[bad[0]]!r}"
        )
    return ln_concentration


def _state_stoichiometry(
    reactions: Sequence[Mapping[str, float]], state_index: Mapping[str, int]
) -> np.ndarray:
    """N [states, reactions] of the kept reactions (metabolite id -> coefficient each)."""
    stoichiometry = np.zeros((len(state_index), len(reactions)))
    for j, coefficients in enumerate(reactions):
        for metabolite, coefficient in coefficients.items():
            if metabolite in state_index:
                stoichiometry[state_index[metabolite], j] = coefficient
    return stoichiometry


def _ln_keq(
    laws: Sequence[RateLaw],
    dg: np.ndarray,
    ln_concentration: np.ndarray,
    index: Mapping[str, int],
    rt: float,
) -> np.ndarray:
    """ln Keq per steady state and reaction, so that exp(dG/RT) = Q/Keq holds at every sample
    (NaN for irreversible laws)."""
    ln_keq = np.full_like(dg, np.nan)
    for j, law in enumerate(laws):
        if law.reversible:
            ln_q = sum(c * ln_concentration[:, index[m]] for m, c in law.thermodynamic)
            ln_keq[:, j] = ln_q - dg[:, j] / rt
    return ln_keq


def _growth_rates(
    samples: pd.DataFrame, settings: KineticsSettings, environment: str
) -> np.ndarray:
    """The biomass flux of every steady state (1/h), zero where it is not positive."""
    biomass_flux = _column(samples, FLUX_PREFIX + settings.biomass_reaction)
    growth_rate = np.where(np.abs(biomass_flux) > settings.active_flux_tol, biomass_flux, 0.0)
    if np.any(growth_rate <= 0):
        logger.warning(
            "%s: biomass reaction %s carries no positive flux in some steady states; their "
            "threshold uses growth rate 0",
            environment,
            settings.biomass_reaction,
        )
        growth_rate = np.maximum(growth_rate, 0.0)
    return growth_rate


def _layout(
    laws: Sequence[RateLaw],
    reactions: Sequence[Mapping[str, float]],
    index: Mapping[str, int],
    state_index: Mapping[str, int],
) -> tuple[list[KmParameter], Layout]:
    parameters: list[KmParameter] = []
    param_rows: list[tuple[int, int, int, bool]] = []
    thermo_rows: list[tuple[int, int, float]] = []
    entries: dict[tuple[int, int], int] = {}

    def entry(j: int, metabolite: str) -> int:
        if metabolite not in state_index:
            return -1
        return entries.setdefault((j, state_index[metabolite]), len(entries))

    param_entry: list[int] = []
    thermo_entry: list[int] = []
    for j, (law, coefficients) in enumerate(zip(laws, reactions, strict=True)):
        for metabolite, exponent, substrate in [(m, n, True) for m, n in law.substrates] + [
            (m, n, False) for m, n in law.products
        ]:
            role = "substrate" if coefficients[metabolite] < 0 else "product"
            parameters.append(
                KmParameter(
                    f"km_{law.km_reaction}_{metabolite}", law.km_reaction, metabolite, role
                )
            )
            param_rows.append((j, index[metabolite], exponent, substrate))
            param_entry.append(entry(j, metabolite))
        for metabolite, coefficient in law.thermodynamic:
            thermo_rows.append((j, index[metabolite], law.direction * coefficient))
            thermo_entry.append(entry(j, metabolite))
    keys = list(entries)  # insertion order == entry number
    params = np.array(param_rows, dtype=float).reshape(-1, 4)
    thermo = np.array(thermo_rows, dtype=float).reshape(-1, 3)
    layout = Layout(
        param_reaction=params[:, 0].astype(int),
        param_metabolite=params[:, 1].astype(int),
        param_exponent=params[:, 2].astype(int),
        param_substrate=params[:, 3].astype(bool),
        param_entry=np.array(param_entry, dtype=int),
        thermo_reaction=thermo[:, 0].astype(int),
        thermo_metabolite=thermo[:, 1].astype(int),
        thermo_coefficient=thermo[:, 2],
        thermo_entry=np.array(thermo_entry, dtype=int),
        entry_reaction=np.array([k[0] for k in keys], dtype=int),
        entry_state=np.array([k[1] for k in keys], dtype=int),
        reversible=np.array([law.reversible for law in laws], dtype=bool),
        direction=np.array([law.direction for law in laws], dtype=int),
    )
    return parameters, layout


def _check_steady_state(model: KineticModel) -> None:
    # The samples come from an LP/sampler: N v = 0 only to solver tolerance.
    balance = model.flux @ model.stoichiometry.T
    scale = np.abs(model.flux) @ np.abs(model.stoichiometry).T
    relative = np.abs(balance) / np.maximum(scale, 1e-300)
    worst = np.unravel_index(np.argmax(relative), relative.shape)
    if relative[worst] > 1e-6:
        logger.warning(
            "%s: steady state %r is not balanced for %s (relative imbalance %.3g)",
            model.environment,
            model.sample_ids[worst[0]],
            model.states[worst[1]],
            relative[worst],
        )


def _check_structure(model: KineticModel) -> None:
    """Warn about states that no rate law depends on: they give a zero eigenvalue."""
    sensed = set(model.layout.entry_state.tolist())
    blind = [m for i, m in enumerate(model.states) if i not in sensed]
    if blind:
        logger.warning(
            "%s: no rate law depends on %s; the Jacobian has a structural zero eigenvalue",
            model.environment,
            blind,
        )
