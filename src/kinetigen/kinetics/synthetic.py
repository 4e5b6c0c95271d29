"""Made-up steady states in the sampling stage's format, for tests and benchmarks only.

These are NOT samples of the thermodynamic polytope: fluxes come from one loopless FBA
solution (scaled per sample), ln concentrations are uniform inside the compartment bounds and
dG is drawn as -sign(v) U(1, 20) kJ/mol. Real steady states come from the sampling stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cobra
import numpy as np
import pandas as pd
from cobra.flux_analysis import loopless_solution

from kinetigen.columns import DG, DG0, FLUX, LNC, column
from kinetigen.kinetics.settings import as_settings
from kinetigen.kinetics.structure import KineticModel, build_kinetic_model
from kinetigen.network import apply_environment, is_water_or_proton


def synthetic_steady_states(
    cobra_model: cobra.Model,
    environment_name: str,
    environment: Mapping[str, Any],
    config: Mapping[str, Any],
    n_samples: int,
    seed: int,
    without_thermodynamics: Sequence[str] = (),
    flux_scale: tuple[float, float] = (0.8, 1.2),
) -> pd.DataFrame:
    """Test steady states with columns flux:, lnc:, dg0:, dg: (one row per sample).

    Every non-boundary reaction except the biomass reaction and ``without_thermodynamics``
    gets dG columns; inactive reactions get a dG of random sign.
    """
    settings = as_settings(config)
    rng = np.random.default_rng(seed)
    with cobra_model:
        apply_environment(cobra_model, environment_name, environment)
        solution = loopless_solution(cobra_model)
    fluxes = solution.fluxes.to_numpy(float, copy=True)  # writable under copy-on-write too
    fluxes[np.abs(fluxes) < 1e-9] = 0.0
    compartments = (config.get("physiology") or {}).get("compartments") or {}
    fixed = environment.get("concentrations") or {}
    metabolites = [m for m in cobra_model.metabolites if not is_water_or_proton(m)]
    low, high = [], []
    for metabolite in metabolites:
        bounds = fixed.get(metabolite.id) or compartments.get(metabolite.compartment, {}).get(
            "concentration_M", (1e-6, 1e-2)
        )
        low.append(np.log(bounds[0]))
        high.append(np.log(bounds[1]))
    ln_c = rng.uniform(low, high, size=(n_samples, len(metabolites)))
    position = {m.id: i for i, m in enumerate(metabolites)}
    scale = rng.uniform(*flux_scale, size=(n_samples, 1))
    frame: dict[str, np.ndarray] = {}
    for reaction, flux in zip(cobra_model.reactions, fluxes, strict=True):
        frame[column(FLUX, reaction.id)] = flux * scale[:, 0]
    for metabolite in metabolites:
        frame[column(LNC, metabolite.id)] = ln_c[:, position[metabolite.id]]
    skip = set(without_thermodynamics) | {settings.biomass_reaction}
    dg0, dg = {}, {}
    for reaction, flux in zip(cobra_model.reactions, fluxes, strict=True):
        if reaction in cobra_model.boundary or reaction.id in skip:
            continue
        sign = np.sign(flux) if flux != 0 else rng.choice([-1.0, 1.0])
        value = -sign * rng.uniform(1.0, 20.0, size=n_samples)
        ln_q = sum(
            coefficient * ln_c[:, position[metabolite.id]]
            for metabolite, coefficient in reaction.metabolites.items()
            if not is_water_or_proton(metabolite)
        )
        dg[column(DG, reaction.id)] = value
        dg0[column(DG0, reaction.id)] = value - settings.rt * ln_q
    frame.update(dg0)
    frame.update(dg)
    return pd.DataFrame(frame)


# A four-reaction network whose Jacobian the tests derive independently:
#   UPT: s_e <=> a_c                        reversible Michaelis-Menten (1:1)
#   KIN: a_c + atp_c <=> b_c + adp_c + pi_c + h_c  convenience kinetics (2:2, pi small, h fixed)
#   OUT: b_c --> p_e                        irreversible Michaelis-Menten (the "biomass")
#   REG: adp_c + pi_c <=> atp_c             reversible Michaelis-Menten (pi small)
# Moieties: atp + adp and atp + pi.
TOY_CONFIG: dict[str, Any] = {
    "biomass_reaction": "OUT",
    "physiology": {
        "temperature_K": 310.15,
        "cell_density_gDW_per_L": 300.0,
        "small_molecules": ["h", "h2o", "pi", "co2", "o2", "nh4"],
    },
    # pi_c stays a dynamic state here: the toy exercises a moiety through a small molecule.
    "kinetics": {"constant_small_molecules": False},
}
TOY_CONCENTRATIONS_M = {
    "s_e": 1.0e-3,
    "p_e": 1.0e-4,
    "a_c": 2.0e-4,
    "b_c": 5.0e-4,
    "atp_c": 3.0e-3,
    "adp_c": 1.0e-3,
    "pi_c": 5.0e-3,
}
TOY_DG_KJ = {"UPT": -5.0, "KIN": -10.0, "REG": -8.0}


def toy_network() -> cobra.Model:
    """The four-reaction test network above, with exchanges for s_e and p_e."""
    model = cobra.Model("toy")
    metabolites = {
        mid: cobra.Metabolite(mid, compartment=mid.rsplit("_", 1)[1])
        for mid in ["s_e", "p_e", "a_c", "b_c", "atp_c", "adp_c", "pi_c", "h_c"]
    }
    model.add_metabolites(list(metabolites.values()))
    equations = {
        "UPT": {"s_e": -1, "a_c": 1},
        "KIN": {"a_c": -1, "atp_c": -1, "b_c": 1, "adp_c": 1, "pi_c": 1, "h_c": 1},
        "OUT": {"b_c": -1, "p_e": 1},
        "REG": {"adp_c": -1, "pi_c": -1, "atp_c": 1},
        "EX_s_e": {"s_e": -1},
        "EX_p_e": {"p_e": -1},
    }
    for rid, stoichiometry in equations.items():
        reaction = cobra.Reaction(rid, lower_bound=-1000.0, upper_bound=1000.0)
        reaction.add_metabolites({metabolites[m]: c for m, c in stoichiometry.items()})
        model.add_reactions([reaction])
    return model


def toy_steady_states(n_samples: int = 1, seed: int = 0) -> pd.DataFrame:
    """Steady states of :func:`toy_network`: sample 0 uses ``TOY_CONCENTRATIONS_M``,
    ``TOY_DG_KJ`` and unit fluxes; later samples scale them randomly."""
    rng = np.random.default_rng(seed)
    rows = []
    for sample in range(n_samples):
        factor = 1.0 if sample == 0 else rng.uniform(0.5, 2.0)
        row = {
            column(FLUX, r): factor * v
            for r, v in {"UPT": 1, "KIN": 1, "OUT": 1, "REG": 1, "EX_s_e": -1, "EX_p_e": 1}.items()
        }
        for metabolite, value in TOY_CONCENTRATIONS_M.items():
            scale = 1.0 if sample == 0 else rng.uniform(0.5, 2.0)
            row[column(LNC, metabolite)] = np.log(value * scale)
        for reaction, value in TOY_DG_KJ.items():
            row[column(DG, reaction)] = value * (1.0 if sample == 0 else rng.uniform(0.5, 2.0))
        rows.append(row)
    return pd.DataFrame(rows)


def toy_kinetic_model(n_samples: int = 1, seed: int = 0) -> KineticModel:
    """The kinetic model of :func:`toy_network` on ``n_samples`` of its steady states
    (:func:`toy_steady_states`), environment "toy", settings :data:`TOY_CONFIG`."""
    return build_kinetic_model(toy_network(), toy_steady_states(n_samples, seed), TOY_CONFIG, "toy")
