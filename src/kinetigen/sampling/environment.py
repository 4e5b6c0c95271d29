"""One environment as the thermodynamic stage sees it, and what follows from it.

:class:`ThermoEnvironment` holds the network, the reaction energies, the physiology, the
environment's config entry and the dG'0 confidence level; the TFA problem, the sampling
polytope, the relaxation and the steady-state checks all read from it what they share,
computed once: the constrained reactions (:attr:`~ThermoEnvironment.constrained`), the ln c
bounds, the ln-concentration terms of every dG and the uncertainty basis with its bands.

Which square root of the dG'0 covariance: eQuilibrator's "sqrt" form
(``ReactionEnergies.sqrt_cov``) has one column per group and compound of its training set (481
live columns for e_coli_core, rank 43). The box |m| <= z in that basis lets a single dG'0 move
by z ||Q_j||_1, a median 7.8 (up to 12.6) times its own z sigma_j (FRD7: +-141 kJ/mol for
sigma = 6.5). :func:`uncertainty_basis` therefore uses the full-rank square root with the same
covariance, Q_r = U_r S_r from the SVD of Q (principal axes, one column per independent
direction): the box then spans a median 2.7 (at most 4.5) z sigma_j per reaction, and the MILP
and the sampler get 43 instead of 481 columns.

The dG'0 region: the box alone still lets a reaction's dG'0 leave its own marginal interval
(sampled e_coli_core tables reached 5.2 sigma_j, and four samples in five had some reaction
beyond z sigma_j). So, as pyTFA bounds each reaction's dG'0 individually, every constrained
reaction also gets a band |dG'0_j - mean_j| <= z sigma_j with sigma_j = ||Q_j||_2, the
marginal standard deviation of the basis (equal to eQuilibrator's ``dg0_std_kJ``: the
compression keeps the covariance; :func:`dg0_marginal_std`). The region is the intersection of
the two: each dG'0 within its own z sigma interval, and the dG'0 jointly within the box of the
correlated basis, which keeps their correlations. Reactions with sigma_j = 0 (certain
transports) need no band: their dG'0 is the mean already.

Reactions without thermodynamic data keep their flux bounds only and are listed with the
reason. So is a reaction whose dG is identically zero (H2O transport: dG'0 = 0, no
concentration term), which the eps margin would otherwise block although cells move water.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cobra
import numpy as np
import pandas as pd
from cobra.util import create_stoichiometric_matrix

from kinetigen.network import (
    apply_environment,
    check_environment,
    is_water_or_proton,
    load_network,
    reduced_from,
)
from kinetigen.schema import check_value, config_error
from kinetigen.settings import PhysiologySettings, WorkflowSettings
from kinetigen.thermo.energies import ReactionEnergies

# |net flux| below this counts as no flux (mmol/gDW/h): profiles and sign checks.
ZERO_FLUX = 1e-9
# Entries of the uncertainty basis below this (kJ/mol) are round-off.
NEGLIGIBLE_KJ = 1e-9
# A reaction without concentration terms whose dG'0 is certain and this close to zero has an
# identically zero dG (water transport); the eps margin would block it.
IDENTICALLY_ZERO_DG_KJ = 1e-6


def thermodynamic_stoichiometry(reaction: cobra.Reaction) -> dict[str, float]:
    """{metabolite id: coefficient} of the ln-concentration sum (H+ and H2O left out)."""
    return {
        metabolite.id: float(coefficient)
        for metabolite, coefficient in reaction.metabolites.items()
        if not is_water_or_proton(metabolite)
    }


def ln_concentration_bounds(
    model: cobra.Model,
    physiology: PhysiologySettings | Mapping[str, Any],
    environment: Mapping[str, Any],
    env_name: str,
) -> dict[str, tuple[float, float]]:
    """Bounds of ln(c / (mol/L)) for every metabolite except H+ and H2O.

    Compartment ranges come from ``physiology.compartments[c]["concentration_M"]``; an
    environment's ``concentrations`` entry (mol/L, low == high fixes it) overrides them.
    """
    compartments = PhysiologySettings.coerce(physiology).compartments
    check_environment(model, env_name, environment)
    bounds: dict[str, tuple[float, float]] = {}
    for metabolite in model.metabolites:
        if is_water_or_proton(metabolite):
            continue
        if metabolite.compartment not in compartments:
            raise config_error(
                "physiology.compartments",
                f"lacks compartment {metabolite.compartment!r} of metabolite {metabolite.id}",
            )
        low, high = compartments[metabolite.compartment]["concentration_M"]
        if not low <= high:
            raise config_error(
                f"physiology.compartments.{metabolite.compartment}.concentration_M",
                f"needs low <= high, got [{low}, {high}]",
            )
        bounds[metabolite.id] = (math.log(low), math.log(high))
    for metabolite_id, (low, high) in (environment.get("concentrations") or {}).items():
        if metabolite_id not in bounds:
            raise config_error(
                f"environments.{env_name}.concentrations",
                f"{metabolite_id} is H+ or H2O, whose activity TFA holds fixed (set pH in "
                "physiology instead)",
            )
        bounds[metabolite_id] = (math.log(low), math.log(high))
    return bounds


def split_reactions(
    model: cobra.Model, energies: ReactionEnergies
) -> tuple[list[str], dict[str, str]]:
    """Constrained reaction ids (model order) and {unconstrained id: reason}."""
    table = energies.table
    foreign = sorted(set(energies.constrained) - {r.id for r in model.reactions})
    if foreign:
        raise ValueError(
            f"reaction energies hold constrained reactions the model lacks: {foreign[:10]}"
        )
    constrained: list[str] = []
    unconstrained: dict[str, str] = {}
    for reaction in model.reactions:
        if reaction.id not in table.index:
            unconstrained[reaction.id] = "no entry in the reaction energies"
            continue
        row = table.loc[reaction.id]
        if not bool(row["constrained"]):
            unconstrained[reaction.id] = str(row["reason"]) or "unconstrained in the energies"
            continue
        if not np.isfinite(row["dg0_mean_kJ"]):
            raise ValueError(f"reaction energies: constrained reaction {reaction.id} has no dG'0")
        if (
            not thermodynamic_stoichiometry(reaction)
            and row["dg0_std_kJ"] == 0
            and abs(row["dg0_mean_kJ"]) < IDENTICALLY_ZERO_DG_KJ
        ):
            unconstrained[reaction.id] = (
                "dG is identically zero (only H2O/H+, whose activities are fixed)"
            )
            continue
        constrained.append(reaction.id)
    return constrained, unconstrained


def dg0_marginal_std(basis: pd.DataFrame) -> pd.Series:
    """Marginal standard deviation of each reaction's dG'0 (kJ/mol): sigma_j = ||Q_j||_2.

    The diagonal of Q Q^T, i.e. eQuilibrator's ``dg0_std_kJ`` up to round-off, since
    :func:`uncertainty_basis` keeps the covariance; computed from ``basis`` so that the band
    |Q_j m| <= z sigma_j is consistent with the basis it constrains.
    """
    values = np.sqrt(np.square(basis.to_numpy(float)).sum(axis=1))
    return pd.Series(values, index=basis.index, name="dg0_std_kJ")


def uncertainty_basis(energies: ReactionEnergies, constrained: list[str]) -> pd.DataFrame:
    """Full-rank square root of the dG'0 covariance of ``constrained`` (kJ/mol).

    Q_r = U_r S_r from the SVD of ``energies.sqrt_cov`` (rows ``constrained``), so
    Q_r Q_r^T equals the covariance; columns ``pc0, pc1, ...`` are its principal axes by
    decreasing spread, each signed so that its largest entry is positive (a deterministic
    choice). See the module docstring for why not the raw eQuilibrator basis.
    """
    missing = sorted(set(constrained) - set(energies.sqrt_cov.index))
    if missing:
        raise ValueError(f"reaction energies: no uncertainty row for {missing[:10]}")
    raw = energies.sqrt_cov.loc[constrained].to_numpy(float)
    if raw.size == 0:
        return pd.DataFrame(index=pd.Index(constrained, name="reaction"))
    left, singular, _ = np.linalg.svd(raw, full_matrices=False)
    rank = int((singular > singular[0] * max(raw.shape) * np.finfo(float).eps).sum())
    basis = left[:, :rank] * singular[:rank]
    largest = basis[np.abs(basis).argmax(axis=0), np.arange(rank)]
    basis *= np.where(largest < 0, -1.0, 1.0)
    # SVD round-off (1e-16 where a row is exactly zero, e.g. certain transports) would give
    # the solvers badly scaled rows; below 1e-9 kJ/mol nothing physical is lost.
    basis[np.abs(basis) < NEGLIGIBLE_KJ] = 0.0
    return pd.DataFrame(
        basis,
        index=pd.Index(constrained, name="reaction"),
        columns=[f"pc{k}" for k in range(rank)],
    )


@dataclass(frozen=True)
class ThermoEnvironment:
    """One environment as the thermodynamic stage sees it (TFA, relaxation, sampling, checks).

    ``model`` is the network, never modified: each step applies the environment's bounds to
    a copy. ``physiology`` holds the temperature and the compartments' concentration ranges
    (:class:`~kinetigen.settings.PhysiologySettings`; a config section is read into one),
    ``environment`` is the environment's config entry and ``name`` its name (in every error
    message), ``z_score`` is ``thermo.z_score``. The derived properties are computed once.
    """

    model: cobra.Model
    energies: ReactionEnergies
    physiology: PhysiologySettings
    environment: Mapping[str, Any]
    name: str
    biomass_reaction: str
    z_score: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "physiology", PhysiologySettings.coerce(self.physiology))
        check_value("thermo.z_score", self.z_score)
        object.__setattr__(self, "z_score", float(self.z_score))
        if self.biomass_reaction not in self.model.reactions:
            raise config_error(
                "biomass_reaction", f"{self.biomass_reaction!r} is not a reaction of the model"
            )

    @classmethod
    def from_config(
        cls,
        model: cobra.Model,
        energies: ReactionEnergies,
        config: WorkflowSettings | Mapping[str, Any],
        name: str,
        environment: Mapping[str, Any] | None = None,
    ) -> ThermoEnvironment:
        """Environment ``name`` of workflow settings or a whole config mapping (its entry
        unless ``environment`` is given)."""
        if not isinstance(config, WorkflowSettings):
            keys = ("physiology", "thermo", "biomass_reaction", "environments")
            config = WorkflowSettings.from_section({k: config[k] for k in keys if k in config})
        return cls(
            model=model,
            energies=energies,
            physiology=config.physiology,
            environment=config.environments[name] if environment is None else environment,
            name=name,
            biomass_reaction=config.biomass_reaction,
            z_score=config.thermo.z_score,
        )

    @classmethod
    def from_files(
        cls,
        energies_dir: str | Path,
        name: str,
        *,
        model: str,
        solver: str,
        physiology: PhysiologySettings | Mapping[str, Any],
        environment: Mapping[str, Any],
        biomass_reaction: str,
        z_score: float,
    ) -> ThermoEnvironment:
        """Environment ``name`` with the network loaded from ``model`` (a cobra model name or
        file, on ``solver``) and the reaction energies saved in ``energies_dir``."""
        network = load_network(model, solver=solver)
        energies = ReactionEnergies.load(Path(energies_dir))
        if reduced_from(network):  # a kinetic core: the energies are its whole model's
            energies = energies.of_reactions(r.id for r in network.reactions)
        return cls(
            model=network,
            energies=energies,
            physiology=physiology,
            environment=environment,
            name=name,
            biomass_reaction=biomass_reaction,
            z_score=z_score,
        )

    @property
    def rt(self) -> float:
        """RT in kJ/mol."""
        return self.physiology.rt

    @functools.cached_property
    def lnc_bounds(self) -> dict[str, tuple[float, float]]:
        """Bounds of ln(c / (mol/L)) of every metabolite but H+ and H2O, model order."""
        return ln_concentration_bounds(self.model, self.physiology, self.environment, self.name)

    @functools.cached_property
    def _reaction_split(self) -> tuple[list[str], dict[str, str]]:
        return split_reactions(self.model, self.energies)

    @property
    def constrained(self) -> list[str]:
        """Thermodynamically constrained reactions, model order."""
        return self._reaction_split[0]

    @property
    def unconstrained(self) -> dict[str, str]:
        """{reaction left without thermodynamic constraints: reason}."""
        return self._reaction_split[1]

    @functools.cached_property
    def terms(self) -> dict[str, dict[str, float]]:
        """{constrained reaction: {metabolite: nu}} of the RT sum nu ln c in its dG."""
        return {
            r: thermodynamic_stoichiometry(self.model.reactions.get_by_id(r))
            for r in self.constrained
        }

    @functools.cached_property
    def lnc_stoichiometry(self) -> np.ndarray:
        """nu [constrained reactions, metabolites of :attr:`lnc_bounds`]: the coefficients of
        the RT sum nu ln c in each dG, as a matrix."""
        index = {metabolite: i for i, metabolite in enumerate(self.lnc_bounds)}
        nu = np.zeros((len(self.constrained), len(index)))
        for j, reaction_id in enumerate(self.constrained):
            for metabolite_id, coefficient in self.terms[reaction_id].items():
                nu[j, index[metabolite_id]] = coefficient
        return nu

    @functools.cached_property
    def stoichiometry(self) -> np.ndarray:
        """S [metabolites, reactions] of the network (dense, model order)."""
        return create_stoichiometric_matrix(self.model, array_type="dense")

    @functools.cached_property
    def basis(self) -> pd.DataFrame:
        """Q_r of :func:`uncertainty_basis`: rows constrained reactions, columns the axes."""
        return uncertainty_basis(self.energies, self.constrained)

    @functools.cached_property
    def dg0_mean(self) -> pd.Series:
        """Mean dG'0 (kJ/mol) of every constrained reaction."""
        return self.energies.table.loc[self.constrained, "dg0_mean_kJ"].astype(float)

    @functools.cached_property
    def dg0_std(self) -> pd.Series:
        """sigma_j = ||Q_j||_2 (kJ/mol): the half-width of each dG'0 band over z."""
        return dg0_marginal_std(self.basis)

    @functools.cached_property
    def flux_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) flux bounds of every reaction in the environment, model order."""
        with self.model as model:
            apply_environment(model, self.name, self.environment)
            lower = np.array([r.lower_bound for r in model.reactions])
            upper = np.array([r.upper_bound for r in model.reactions])
        return lower, upper

    def network_copy(self) -> cobra.Model:
        """A copy of the network with the environment's bounds applied."""
        model = self.model.copy()
        apply_environment(model, self.name, self.environment)
        return model
