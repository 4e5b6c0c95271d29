"""Thermodynamics: standard reaction Gibbs energies from eQuilibrator (offline)."""

from kinetigen.thermo.energies import ReactionEnergies, component_contribution, reaction_energies
from kinetigen.thermo.mapping import map_metabolites

__all__ = ["ReactionEnergies", "component_contribution", "map_metabolites", "reaction_energies"]
