"""Smallest relaxation of dG'0 and concentration bounds that makes an environment feasible.

When TFA cannot grow although FBA can, the TFA MILP is rebuilt with non-negative slacks (as
pyTFA's ``relax_dgo``, extended to concentrations): every dG'0 may move up (``SDGp``) or down
(``SDGn``) and every ln c bound may widen below (``SLnClo``) or above (``SLnCup``). The MILP
asks for growth >= ``min_growth_fraction`` x FBA growth and minimises

    sum_j (SDGp_j + SDGn_j) + RT sum_i (SLnClo_i + SLnCup_i)          (kJ/mol)

i.e. every slack is priced by the change of dG it buys (RT per ln unit), so kJ/mol and ln
units compete on one scale. Ties are common (widening any metabolite on a blocked pathway buys
the same dG), so the concentrations the environment sets itself cost a fraction
(``USER_BOUND_DISCOUNT``) less: a value the user fixed (glucose at 1e-20 M) is named before an
equal-cost default range of another metabolite. The report lists each non-zero slack and, in
``reactions``, the thermodynamically constrained reactions it unblocks (the reaction itself for
dG'0, the flux-carrying reactions of the metabolite for a concentration);
:func:`apply_relaxation` turns it into relaxed reaction energies and environment
concentrations.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping
from typing import Any

import cobra
import pandas as pd

from kinetigen.sampling.environment import ThermoEnvironment, ln_concentration_bounds
from kinetigen.sampling.errors import InfeasibleTFA
from kinetigen.sampling.problem import build_tfa_problem
from kinetigen.settings import PhysiologySettings, TFASettings
from kinetigen.thermo.energies import ReactionEnergies

logger = logging.getLogger(__name__)

# Slacks below this are solver round-off, not part of the relaxation.
SLACK_TOLERANCE = 1e-9
REPORT_COLUMNS = ["kind", "id", "relaxation", "unit", "original", "relaxed", "reactions"]
# Relative price cut of slacks on concentrations the environment sets (a tie-breaker).
USER_BOUND_DISCOUNT = 1e-3


def find_relaxation(
    env: ThermoEnvironment, tfa: TFASettings | Mapping[str, Any], *, min_growth: float
) -> pd.DataFrame:
    """Smallest dG'0 and ln c bound relaxation that lets TFA reach ``min_growth`` (1/h).

    Returns the report (columns :data:`REPORT_COLUMNS`, one row per non-zero slack, largest
    first); empty when no relaxation is needed. Raises InfeasibleTFA when even the relaxed
    MILP cannot grow (the flux bounds themselves forbid it).
    """
    problem = build_tfa_problem(env, tfa, relaxed=True)
    tfa_model = problem.model
    with tfa_model:
        biomass = tfa_model.reactions.get_by_id(env.biomass_reaction)
        biomass.lower_bound = max(biomass.lower_bound, min_growth)
        weights = {slack: 1.0 for pair in problem.dg0_slack.values() for slack in pair}
        user_set = set(env.environment.get("concentrations") or {})
        weights.update(
            {
                slack: env.rt * (1 - USER_BOUND_DISCOUNT if metabolite in user_set else 1)
                for metabolite, pair in problem.lnc_slack.items()
                for slack in pair
            }
        )
        solution = problem.optimize(weights, "min")
    if not solution.optimal:
        raise InfeasibleTFA(
            env.name,
            f"even with relaxed dG'0 and concentrations, growth >= {min_growth:.4g} 1/h is "
            f"{solution.status}",
            report=pd.DataFrame(columns=REPORT_COLUMNS),
        )
    values = solution.values

    def unblocked(metabolite_id: str) -> str:
        reactions = tfa_model.metabolites.get_by_id(metabolite_id).reactions
        return " ".join(
            sorted(
                r.id
                for r in reactions
                if r.id in problem.dg0_slack
                and abs(values[r.forward_variable.name] - values[r.reverse_variable.name])
                > SLACK_TOLERANCE
            )
        )

    rows = []
    for reaction_id, (up, down) in problem.dg0_slack.items():
        shift = values[up.name] - values[down.name]
        if abs(shift) > SLACK_TOLERANCE:
            original = float(env.dg0_mean[reaction_id])
            rows.append(
                ("dg0", reaction_id, abs(shift), "kJ/mol", original, original + shift, reaction_id)
            )
    for metabolite_id, (lower, upper) in problem.lnc_slack.items():
        low, high = env.lnc_bounds[metabolite_id]
        sides = (("lnc_lower", lower, -1, low), ("lnc_upper", upper, 1, high))
        for kind, slack, sign, bound in sides:
            amount = values[slack.name]
            if amount > SLACK_TOLERANCE:
                rows.append(
                    (kind, metabolite_id, amount, "ln(mol/L)", bound, bound + sign * amount,
                     unblocked(metabolite_id))
                )
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    report = report.sort_values("relaxation", ascending=False, ignore_index=True)
    logger.info(
        "environment %s: smallest relaxation has %d changes, cost %.4g kJ/mol",
        env.name, len(report), solution.objective,
    )
    return report


def apply_relaxation(
    report: pd.DataFrame,
    model: cobra.Model,
    energies: ReactionEnergies,
    physiology: PhysiologySettings | Mapping[str, Any],
    environment: Mapping[str, Any],
    env_name: str,
) -> tuple[ReactionEnergies, dict[str, Any]]:
    """Reaction energies and environment with the relaxation of ``report`` applied.

    dG'0 rows move the reaction's mean to the relaxed value (its uncertainty is kept); ln c
    rows widen the metabolite's range, written as an environment ``concentrations`` entry
    [low, high] in mol/L. The inputs are not modified.
    """
    unknown = sorted(set(report["kind"]) - {"dg0", "lnc_lower", "lnc_upper"})
    if unknown:
        raise ValueError(f"relaxation report: unknown kind(s) {unknown}")
    table = energies.table.copy()
    relaxed_environment = copy.deepcopy(dict(environment))
    bounds = ln_concentration_bounds(model, physiology, environment, env_name)
    concentrations = dict(relaxed_environment.get("concentrations") or {})
    widened: dict[str, list[float]] = {}
    for row in report.itertuples():
        if row.kind == "dg0":
            if row.id not in table.index:
                raise ValueError(f"relaxation report: unknown reaction {row.id!r}")
            table.loc[row.id, "dg0_mean_kJ"] = row.relaxed
            continue
        if row.id not in bounds:
            raise ValueError(f"relaxation report: unknown metabolite {row.id!r}")
        pair = widened.setdefault(row.id, list(bounds[row.id]))
        pair[0 if row.kind == "lnc_lower" else 1] = row.relaxed
    for metabolite_id, (low, high) in widened.items():
        concentrations[metabolite_id] = [math.exp(low), math.exp(high)]
    if widened:
        relaxed_environment["concentrations"] = concentrations
    relaxed = ReactionEnergies(
        table=table, sqrt_cov=energies.sqrt_cov.copy(), unmapped=dict(energies.unmapped)
    )
    return relaxed, relaxed_environment
