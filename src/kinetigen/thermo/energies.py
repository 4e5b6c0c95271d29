"""Standard reaction Gibbs energies with their joint uncertainty, as TFA needs them."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cobra
import numpy as np
import pandas as pd
from equilibrator_api import Q_, ComponentContribution
from equilibrator_api.phased_reaction import PhasedReaction
from equilibrator_cache.models import Compound

from kinetigen.io import read_parquet, write_csv, write_json, write_parquet
from kinetigen.schema import config_error
from kinetigen.thermo.mapping import MetaboliteMapping, map_metabolites

TABLE_FILE = "reaction_energies.csv"
SQRT_COV_FILE = "dg0_sqrt_cov.parquet"
UNMAPPED_FILE = "unmapped_metabolites.json"


@dataclass
class ReactionEnergies:
    """dG'0 of every model reaction, kJ/mol.

    ``table``: indexed by reaction id, columns dg0_mean_kJ, dg0_std_kJ, constrained, reason.
    ``sqrt_cov``: rows are the constrained reactions (same order as in ``table``), columns a
    basis of the uncertainty: dG'0 = dg0_mean + sqrt_cov @ m with |m_k| <= z bounds a
    correlated confidence region (the row norms are dg0_std_kJ).
    """

    table: pd.DataFrame
    sqrt_cov: pd.DataFrame
    unmapped: dict[str, str] = field(default_factory=dict)  # metabolite id -> reason

    @property
    def constrained(self) -> list[str]:
        return list(self.table.index[self.table["constrained"]])

    def mean(self, reaction_ids: list[str] | None = None) -> np.ndarray:
        ids = self.constrained if reaction_ids is None else reaction_ids
        return self.table.loc[ids, "dg0_mean_kJ"].to_numpy(float)

    def save(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        write_csv(self.table.reset_index(names="reaction"), folder / TABLE_FILE)
        write_parquet(self.sqrt_cov, folder / SQRT_COV_FILE)
        write_json(self.unmapped, folder / UNMAPPED_FILE)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> ReactionEnergies:
        folder = Path(folder)
        table = pd.read_csv(folder / TABLE_FILE, index_col="reaction", keep_default_na=False)
        table["constrained"] = table["constrained"].astype(bool)
        table["dg0_mean_kJ"] = pd.to_numeric(table["dg0_mean_kJ"], errors="coerce")
        table["dg0_std_kJ"] = pd.to_numeric(table["dg0_std_kJ"], errors="coerce")
        unmapped_path = folder / UNMAPPED_FILE
        unmapped = json.loads(unmapped_path.read_text()) if unmapped_path.exists() else {}
        return cls(table=table, sqrt_cov=read_parquet(folder / SQRT_COV_FILE), unmapped=unmapped)


# --------------------------------------------------------------------------------------------
# Estimation with eQuilibrator


def component_contribution(temperature_K: float) -> ComponentContribution:
    """eQuilibrator's estimator on its bundled (offline) data."""
    cc = ComponentContribution()
    cc.temperature = Q_(temperature_K, "K")
    return cc


def _set_conditions(cc: ComponentContribution, compartment: dict) -> None:
    cc.p_h = Q_(compartment["pH"])
    cc.ionic_strength = Q_(compartment["ionic_strength_M"], "M")


def _phased(stoichiometry: dict[Compound, float]) -> PhasedReaction:
    return PhasedReaction({compound: coeff for compound, coeff in stoichiometry.items() if coeff})


def _compound_stoichiometry(
    reaction: cobra.Reaction, mapping: MetaboliteMapping, compartment: str | None = None
) -> dict[Compound, float]:
    """Stoichiometry by eQuilibrator compound, optionally of one compartment only."""
    stoich: dict[Compound, float] = defaultdict(float)
    for metabolite, coeff in reaction.metabolites.items():
        if compartment is None or metabolite.compartment == compartment:
            stoich[mapping.compounds[metabolite.id]] += coeff
    return dict(stoich)


def _exclusion_reason(
    reaction: cobra.Reaction,
    mapping: MetaboliteMapping,
    biomass_reaction: str,
    excluded: set[str],
) -> str:
    if reaction.id in excluded:
        return "listed in thermo.unconstrained_reactions"
    if reaction.id == biomass_reaction:
        return "biomass reaction"
    if reaction.boundary:
        return "boundary (exchange, demand or sink) reaction"
    unmapped = sorted(m.id for m in reaction.metabolites if m.id in mapping.unmapped)
    if unmapped:
        return "unmapped metabolite(s): " + ", ".join(unmapped)
    compartments = {m.compartment for m in reaction.metabolites}
    if len(compartments) > 2:
        return "spans more than two compartments: " + ", ".join(sorted(compartments))
    combined = _phased(_compound_stoichiometry(reaction, mapping))
    if not combined.is_balanced(ignore_atoms=("H",)):
        return "not elementally balanced (eQuilibrator check, protons ignored)"
    return ""


def reaction_energies(
    model: cobra.Model,
    physiology: dict,
    thermo: dict,
    biomass_reaction: str,
    cc: ComponentContribution | None = None,
) -> ReactionEnergies:
    """dG'0 (kJ/mol) with a square root of its covariance for every reaction of ``model``.

    Single-compartment reactions are transformed at their compartment's pH and ionic strength.
    Two-compartment (transport) reactions use eQuilibrator's multi-compartment estimate: the
    compartment listed first in ``physiology["compartments"]`` is the inner one, and the
    potential difference handed over is phi(inner) - phi(outer). Their uncertainty is that of
    the chemical reaction obtained by summing both halves compound-wise (the Legendre transform
    and the electrical term are exact), so all rows share one uncertainty basis.
    """
    compartments: dict = physiology["compartments"]
    missing = sorted({m.compartment for m in model.metabolites} - set(compartments))
    if missing:
        raise config_error(
            "physiology.compartments", f"lacks model compartment(s) {missing}"
        )
    order = list(compartments)
    cc = cc or component_contribution(physiology["temperature_K"])
    mapping = map_metabolites(model, cc.ccache)
    excluded = set(thermo.get("unconstrained_reactions") or [])

    rows: dict[str, dict] = {}
    sqrt_rows: dict[str, np.ndarray] = {}
    single: dict[str, list[cobra.Reaction]] = defaultdict(list)
    for reaction in model.reactions:
        reason = _exclusion_reason(reaction, mapping, biomass_reaction, excluded)
        rows[reaction.id] = {"dg0_mean_kJ": np.nan, "dg0_std_kJ": np.nan, "reason": reason}
        if reason:
            continue
        present = sorted({m.compartment for m in reaction.metabolites}, key=order.index)
        if len(present) == 1:
            single[present[0]].append(reaction)
            continue
        inner, outer = present
        _set_conditions(cc, compartments[inner])
        mean = cc.multicompartmental_standard_dg_prime(
            _phased(_compound_stoichiometry(reaction, mapping, inner)),
            _phased(_compound_stoichiometry(reaction, mapping, outer)),
            e_potential_difference=Q_(
                compartments[inner]["potential_mV"] - compartments[outer]["potential_mV"], "mV"
            ),
            p_h_outer=Q_(compartments[outer]["pH"]),
            ionic_strength_outer=Q_(compartments[outer]["ionic_strength_M"], "M"),
        )
        _, sqrt_cov = cc.standard_dg_multi(
            [_phased(_compound_stoichiometry(reaction, mapping))], uncertainty_representation="sqrt"
        )
        rows[reaction.id]["dg0_mean_kJ"] = float(mean.value.m_as("kJ/mol"))
        sqrt_rows[reaction.id] = np.asarray(sqrt_cov.m_as("kJ/mol"))[0]

    for compartment, reactions in single.items():
        _set_conditions(cc, compartments[compartment])
        means, sqrt_cov = cc.standard_dg_prime_multi(
            [_phased(_compound_stoichiometry(r, mapping)) for r in reactions],
            uncertainty_representation="sqrt",
        )
        means = np.asarray(means.m_as("kJ/mol"))
        sqrt_cov = np.asarray(sqrt_cov.m_as("kJ/mol"))
        for i, reaction in enumerate(reactions):
            rows[reaction.id]["dg0_mean_kJ"] = float(means[i])
            sqrt_rows[reaction.id] = sqrt_cov[i]

    max_std = float(thermo["max_dg0_std_kJ"])
    for reaction_id, basis_row in sqrt_rows.items():
        std = float(np.linalg.norm(basis_row))
        rows[reaction_id]["dg0_std_kJ"] = std
        if std > max_std:
            rows[reaction_id]["reason"] = (
                f"dG'0 uncertainty {std:.1f} kJ/mol above thermo.max_dg0_std_kJ = {max_std}"
            )

    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "reaction"
    table["constrained"] = table["reason"] == ""
    table = table[["dg0_mean_kJ", "dg0_std_kJ", "constrained", "reason"]]
    constrained = list(table.index[table["constrained"]])
    basis = np.vstack([sqrt_rows[r] for r in constrained]) if constrained else np.zeros((0, 0))
    used = np.flatnonzero(np.abs(basis).sum(axis=0) > 0)  # drop basis vectors nobody touches
    sqrt_cov = pd.DataFrame(
        basis[:, used],
        index=pd.Index(constrained, name="reaction"),
        columns=[f"q{k}" for k in used],
    )
    return ReactionEnergies(table=table, sqrt_cov=sqrt_cov, unmapped=mapping.unmapped)
