"""Standard reaction Gibbs energies with their joint uncertainty, as TFA needs them."""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cobra
import numpy as np
import pandas as pd
from equilibrator_api import Q_, ComponentContribution
from equilibrator_api.phased_reaction import PhasedReaction
from equilibrator_cache import PROTON_INCHI_KEY
from equilibrator_cache.exceptions import MissingDissociationConstantsException
from equilibrator_cache.models import Compound

from kinetigen.io import read_parquet, write_csv, write_json, write_parquet
from kinetigen.schema import config_error
from kinetigen.thermo.mapping import MetaboliteMapping, map_metabolites

TABLE_FILE = "reaction_energies.csv"
SQRT_COV_FILE = "dg0_sqrt_cov.parquet"
UNMAPPED_FILE = "unmapped_metabolites.json"
COVERAGE_FILE = "coverage.json"

log = logging.getLogger(__name__)


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
    coverage: dict[str, Any] | None = None  # :func:`coverage`; from the table when None

    @property
    def constrained(self) -> list[str]:
        return list(self.table.index[self.table["constrained"]])

    def mean(self, reaction_ids: list[str] | None = None) -> np.ndarray:
        ids = self.constrained if reaction_ids is None else reaction_ids
        return self.table.loc[ids, "dg0_mean_kJ"].to_numpy(float)

    def of_reactions(self, reaction_ids: Iterable[str]) -> ReactionEnergies:
        """The energies of those of ``reaction_ids`` the table holds (e.g. a kinetic core's
        reactions among a genome-scale model's), with their rows of the uncertainty basis."""
        kept = set(reaction_ids)
        table = self.table[self.table.index.isin(kept)]
        sqrt_cov = self.sqrt_cov[self.sqrt_cov.index.isin(kept)]
        return ReactionEnergies(table=table, sqrt_cov=sqrt_cov, unmapped=dict(self.unmapped))

    def save(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        write_csv(self.table.reset_index(names="reaction"), folder / TABLE_FILE)
        write_parquet(self.sqrt_cov, folder / SQRT_COV_FILE)
        write_json(self.unmapped, folder / UNMAPPED_FILE)
        write_json(self.coverage or coverage(self.table), folder / COVERAGE_FILE)

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


def _set_conditions(cc: ComponentContribution, compartment: Mapping[str, Any]) -> None:
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


# Why a reaction is left unconstrained: category -> the start of its reason text. The table
# keeps the text (with the culprits); coverage counts by category, matched on these prefixes.
REASONS: dict[str, str] = {
    "listed": "listed in thermo.unconstrained_reactions",
    "biomass": "biomass reaction",
    "boundary": "boundary (exchange, demand or sink) reaction",
    "unmapped": "unmapped metabolite(s): ",
    "multi_compartment": "spans more than two compartments: ",
    "unbalanced": "not elementally balanced",
    "no_dissociation_data": "eQuilibrator has no dissociation constants for: ",
    "estimate_failed": "eQuilibrator could not estimate it: ",
    "too_uncertain": "dG'0 uncertainty ",
}


def reason_category(reason: str) -> str:
    """The :data:`REASONS` key of a reason text ("constrained" for the empty reason)."""
    if not reason:
        return "constrained"
    for category, prefix in REASONS.items():
        if reason.startswith(prefix):
            return category
    raise ValueError(f"unknown unconstrained-reaction reason {reason!r}")


def _exclusion_reason(
    reaction: cobra.Reaction,
    mapping: MetaboliteMapping,
    biomass_reaction: str,
    excluded: set[str],
) -> str:
    """Why ``reaction`` cannot be estimated at all, from the model and the mapping alone."""
    if reaction.id in excluded:
        return REASONS["listed"]
    if reaction.id == biomass_reaction:
        return REASONS["biomass"]
    if reaction.boundary:
        return REASONS["boundary"]
    unmapped = sorted(m.id for m in reaction.metabolites if m.id in mapping.unmapped)
    if unmapped:
        return REASONS["unmapped"] + ", ".join(unmapped)
    compartments = {m.compartment for m in reaction.metabolites}
    if len(compartments) > 2:
        return REASONS["multi_compartment"] + ", ".join(sorted(compartments))
    combined = _phased(_compound_stoichiometry(reaction, mapping))
    if not combined.is_balanced(ignore_atoms=("H",)):
        return REASONS["unbalanced"] + " (eQuilibrator check, protons ignored)"
    # The Legendre transform needs each compound's microspecies (ChemAxon pKa data). Without
    # them equilibrator-api crashes on transports (find_most_abundant_ms: min() of an empty
    # sequence) and, for one compartment, only warns and returns the untransformed dG0.
    # Every metabolite is checked, also one whose coefficients cancel in the chemical sum:
    # its two halves of a transport are transformed separately.
    untransformable = sorted(
        m.id
        for m in reaction.metabolites
        if mapping.compounds[m.id].inchi_key != PROTON_INCHI_KEY
        and not mapping.compounds[m.id].can_be_transformed()
    )
    if untransformable:
        return REASONS["no_dissociation_data"] + ", ".join(untransformable)
    return ""


# What equilibrator-api raises for a reaction it cannot handle (checked against 0.8.1):
# ValueError (unbalanced halves of a transport, empty microspecies lists), AssertionError
# (a transported species carrying Mg2+), MissingDissociationConstantsException.
ESTIMATION_ERRORS = (ValueError, AssertionError, MissingDissociationConstantsException)
_TRANSFORM_WARNING = re.compile(r"Cannot calculate Legendre transform for reaction #(\d+)")


def _transport_mean(
    cc: ComponentContribution,
    reaction: cobra.Reaction,
    mapping: MetaboliteMapping,
    compartments: Mapping[str, Mapping[str, Any]],
    inner: str,
    outer: str,
) -> float:
    """dG'0 (kJ/mol) of a two-compartment reaction, eQuilibrator's multi-compartment estimate."""
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
    return float(mean.value.m_as("kJ/mol"))


def _single_compartment_means(
    cc: ComponentContribution,
    reactions: list[cobra.Reaction],
    mapping: MetaboliteMapping,
    compartment: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, str]]:
    """dG'0 (kJ/mol) of reactions inside one compartment, in one eQuilibrator call; reactions
    whose Legendre transform failed (eQuilibrator warns and leaves them untransformed) are
    returned apart with the warning as their reason."""
    _set_conditions(cc, compartment)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        means, _ = cc.standard_dg_prime_multi(
            [_phased(_compound_stoichiometry(r, mapping)) for r in reactions],
            uncertainty_representation="sqrt",
        )
    failed: dict[str, str] = {}
    for warning in caught:
        match = _TRANSFORM_WARNING.search(str(warning.message))
        if match:
            reason = REASONS["estimate_failed"] + str(warning.message)
            failed[reactions[int(match.group(1))].id] = reason
    values = np.asarray(means.m_as("kJ/mol"), dtype=float)
    return {r.id: float(values[i]) for i, r in enumerate(reactions) if r.id not in failed}, failed


def coverage(table: pd.DataFrame, model: cobra.Model | None = None) -> dict[str, Any]:
    """How many reactions carry thermodynamic constraints, and why the others do not.

    ``table`` is :attr:`ReactionEnergies.table`. Counts every reaction, the constrained ones
    and the unconstrained ones by :data:`REASONS` key (every key present, zeros included).
    With ``model``, also the constrained and total counts of transports (reactions whose
    metabolites lie in two compartments).
    """
    counts = table["reason"].map(reason_category).value_counts()
    total = len(table)
    constrained = int(counts.get("constrained", 0))
    summary: dict[str, Any] = {
        "reactions": total,
        "constrained": constrained,
        "unconstrained": total - constrained,
        "fraction_constrained": constrained / total if total else 0.0,
        "unconstrained_by_reason": {category: int(counts.get(category, 0)) for category in REASONS},
    }
    if model is not None:
        transports = [
            r.id for r in model.reactions if len({m.compartment for m in r.metabolites}) == 2
        ]
        summary["transports"] = {
            "reactions": len(transports),
            "constrained": int(table.loc[transports, "constrained"].sum()),
        }
    return summary


def reaction_energies(
    model: cobra.Model,
    physiology: Mapping[str, Any],
    thermo: Mapping[str, Any],
    biomass_reaction: str,
    cc: ComponentContribution | None = None,
) -> ReactionEnergies:
    """dG'0 (kJ/mol) with a square root of its covariance for every reaction of ``model``.

    Means. Single-compartment reactions are transformed at their compartment's pH and ionic
    strength (``standard_dg_prime_multi``, one call per compartment). Two-compartment
    (transport) reactions use eQuilibrator's multi-compartment estimate: the compartment
    listed first in ``physiology["compartments"]`` is the inner one, and the potential
    difference handed over is phi(inner) - phi(outer); which side is "inner" does not change
    the result (a test checks it), so the order of a three-compartment config (c, p, e) only
    needs to be consistent.

    Uncertainty. One eQuilibrator call (``standard_dg_multi(..., "sqrt")``) for every
    estimated reaction together, each as its chemical reaction (both halves of a transport
    summed compound-wise: the Legendre transform and the electrical term are exact, so they
    add no uncertainty). One call, because the columns of eQuilibrator's square root depend
    on the set: besides the fixed component/group columns it appends one column per compound
    outside both (``sigma_res``), so rows of separate calls do not line up (on iJO1366: 669
    against 675 columns). Columns that no constrained reaction touches are dropped.

    Unconstrained, with the reason in ``table["reason"]`` (categories :data:`REASONS`, counts
    :func:`coverage`): listed in config, biomass, boundary, an unmapped metabolite, more than
    two compartments, not elementally balanced, a compound without dissociation constants
    (no Legendre transform possible), an error eQuilibrator raises for this reaction alone,
    or a standard error above ``thermo["max_dg0_std_kJ"]``. Choices the issue left open:
    reactions spanning three compartments (iJO1366's TonB/ExbB-driven uptake) stay
    unconstrained rather than being split; a failure is caught per reaction, so one bad
    reaction never stops the stage, but only the errors of :data:`ESTIMATION_ERRORS`.
    """
    compartments: Mapping[str, Mapping[str, Any]] = physiology["compartments"]
    missing = sorted({m.compartment for m in model.metabolites} - set(compartments))
    if missing:
        raise config_error("physiology.compartments", f"lacks model compartment(s) {missing}")
    cc = cc or component_contribution(physiology["temperature_K"])
    mapping = map_metabolites(model, cc.ccache)
    excluded = set(thermo.get("unconstrained_reactions") or [])

    means, reasons = _means(cc, model, mapping, compartments, biomass_reaction, excluded)
    estimated = [r.id for r in model.reactions if r.id in means]
    basis = _uncertainty_basis(cc, model, mapping, estimated)
    # Row by row (not norm(axis=1)): the same floating-point sums as before, bit for bit.
    stds = {r: float(np.linalg.norm(basis[i])) for i, r in enumerate(estimated)}
    max_std = float(thermo["max_dg0_std_kJ"])
    for reaction_id, std in stds.items():
        if std > max_std:
            reasons[reaction_id] = (
                REASONS["too_uncertain"]
                + f"{std:.1f} kJ/mol above thermo.max_dg0_std_kJ = {max_std}"
            )
    table, sqrt_cov = _tables(model, means, stds, reasons, estimated, basis)
    summary = coverage(table, model)
    log.info(
        "thermodynamic coverage: %d of %d reactions constrained (%.1f %%); unconstrained by "
        "reason: %s",
        summary["constrained"],
        summary["reactions"],
        100 * summary["fraction_constrained"],
        ", ".join(f"{k} {v}" for k, v in summary["unconstrained_by_reason"].items() if v),
    )
    return ReactionEnergies(
        table=table, sqrt_cov=sqrt_cov, unmapped=mapping.unmapped, coverage=summary
    )


def _means(
    cc: ComponentContribution,
    model: cobra.Model,
    mapping: MetaboliteMapping,
    compartments: Mapping[str, Mapping[str, Any]],
    biomass_reaction: str,
    excluded: set[str],
) -> tuple[dict[str, float], dict[str, str]]:
    """dG'0 means of the reactions eQuilibrator can estimate, and every reaction's reason to
    stay unconstrained ("" for none yet)."""
    order = list(compartments)
    reasons: dict[str, str] = {}
    means: dict[str, float] = {}
    single: dict[str, list[cobra.Reaction]] = defaultdict(list)
    for reaction in model.reactions:
        reasons[reaction.id] = _exclusion_reason(reaction, mapping, biomass_reaction, excluded)
        if reasons[reaction.id]:
            continue
        present = sorted({m.compartment for m in reaction.metabolites}, key=order.index)
        if len(present) == 1:
            single[present[0]].append(reaction)
            continue
        try:
            means[reaction.id] = _transport_mean(cc, reaction, mapping, compartments, *present)
        except ESTIMATION_ERRORS as error:
            reasons[reaction.id] = REASONS["estimate_failed"] + f"{type(error).__name__}: {error}"
    for compartment, reactions in single.items():
        compartment_means, failed = _single_compartment_means(
            cc, reactions, mapping, compartments[compartment]
        )
        means.update(compartment_means)
        reasons.update(failed)
    return means, reasons


def _uncertainty_basis(
    cc: ComponentContribution, model: cobra.Model, mapping: MetaboliteMapping, estimated: list[str]
) -> np.ndarray:
    """Square root of the dG'0 covariance of ``estimated``, one row each, from one call."""
    if not estimated:
        return np.zeros((0, 0))
    _, sqrt_cov = cc.standard_dg_multi(
        [
            _phased(_compound_stoichiometry(model.reactions.get_by_id(r), mapping))
            for r in estimated
        ],
        uncertainty_representation="sqrt",
    )
    return np.asarray(sqrt_cov.m_as("kJ/mol"), dtype=float)


def _tables(
    model: cobra.Model,
    means: Mapping[str, float],
    stds: Mapping[str, float],
    reasons: Mapping[str, str],
    estimated: list[str],
    basis: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-reaction table and the constrained reactions' square-root basis."""
    table = pd.DataFrame(
        {
            "dg0_mean_kJ": [means.get(r.id, np.nan) for r in model.reactions],
            "dg0_std_kJ": [stds.get(r.id, np.nan) for r in model.reactions],
            "constrained": [reasons[r.id] == "" for r in model.reactions],
            "reason": [reasons[r.id] for r in model.reactions],
        },
        index=pd.Index([r.id for r in model.reactions], name="reaction"),
    )
    constrained = list(table.index[table["constrained"]])
    rows = [estimated.index(r) for r in constrained]
    basis = basis[rows] if constrained else np.zeros((0, 0))
    used = np.flatnonzero(np.abs(basis).sum(axis=0) > 0)  # drop basis vectors nobody touches
    sqrt_cov = pd.DataFrame(
        basis[:, used],
        index=pd.Index(constrained, name="reaction"),
        columns=[f"q{k}" for k in used],
    )
    return table, sqrt_cov
