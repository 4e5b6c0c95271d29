"""Per-substrate drains of the biomass reaction (``kinetics.biomass_law: per_substrate``).

The lumped law ``v = Vmax prod_s x_s / (x_s + Km_s)`` over some 30 substrates is one
rank-one law: combinations of the precursors that keep the product of saturations fixed feel
no restoring force. Split, each substrate s gets its own irreversible Michaelis-Menten drain
``w_s = Vmax_s x_s / (x_s + Km_s)`` that consumes s at the biomass reaction's coefficient
per unit of its rate, with Vmax_s fitted (as every Vmax) so that w_s equals the biomass flux
at each steady state: every drain then runs at the growth rate, and the drains and the rest
(below) together consume and make exactly what the biomass reaction does.

Products of the biomass reaction go with the substrates they pair with through a conserved
moiety (ADP and AMP with ATP, NADP with NADPH, CoA with acetyl- and succinyl-CoA). Product p
may go to the drain of substrate s when the two share a moiety of the rest of the network (a
nonzero entry P[p, s] of the projector P = G G^T onto the left null space of the other
reactions' stoichiometry over the states; P does not depend on the choice of basis). How much
of each product goes where is one small linear program (HiGHS): every moiety of the lumped
model (the left null space with the biomass column) must be conserved by each drain and by
the rest (hard in effect: a violation costs 10^4 per unit), a product not paired costs 100
per unit, and a pair costs 1 + |ln(c_p / c_s)| per unit, so a product goes to the substrate
whose coefficient matches its own (NAD with NADH, NADP with NADPH, even where NAD kinase
links the two pools into one moiety). A product that pairs with no substrate
(2-oxoglutarate, fumarate, pyrophosphate, acetate, ...) follows growth: every drain makes
its growth share g_s of it, so it is made at the rate mu times its biomass coefficient in
every state, as in the cell. (At a constant rate, the steady state's, a slowed culture kept
receiving them: on the iJO1366 core about 11 C-mmol/gDW per unit growth, and 4 of 20
bioreactor runs grew on them after glucose uptake had fallen.)

The growth shares are carbon shares: g_s = C_s / sum_k C_k, C_s the carbon that drain s
takes into biomass (|c_s| times the carbon atoms of s, less those of the products paired
with it), so growth is the rate at which carbon enters biomass
(:meth:`kinetigen.kinetics.structure.KineticModel.growth_weights`). Drains that return their
moiety whole (ATP to ADP, NADH to NAD, NADPH to NADP) take no carbon: they count nothing
toward growth and make no by-product. (Shares by coefficient, |c_s| / sum_k |c_k|, gave the
ATP drain of the growth-associated maintenance 76 % of growth on the iJO1366 core and 76 %
of the by-products: with the proton motive force held fixed, ATP synthase fed that drain
without any substrate, so it made carbon from nothing and 3 of 20 bioreactor runs kept
growing with glucose uptake stalled, to yields of 18 to 17,924 gDW/mmol.) Where the
formulas give no drain any carbon, the shares fall back to the coefficients.
Every metabolite that is not a state (small molecules, H+, H2O, boundary metabolites) goes
to one rest reaction at the steady state's constant rate; it changes no state and is left
out, as every reaction that changes none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

LUMPED = "lumped"
PER_SUBSTRATE = "per_substrate"
REST = "rest"


@dataclass(frozen=True)
class BiomassPart:
    """One part of the split biomass reaction: the drain of ``substrate`` (None for the
    constant-rate rest) with its stoichiometry (metabolite id -> coefficient, model
    orientation, per unit of the biomass flux) and its growth share (module docstring; 0
    for the rest)."""

    substrate: str | None
    coefficients: dict[str, float]
    growth_share: float = 0.0

    def reaction_id(self, biomass: str) -> str:
        """``<biomass>__<substrate>`` or ``<biomass>__rest``."""
        return f"{biomass}__{self.substrate or REST}"


def moiety_projector(rest_stoichiometry: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """P = G G^T [states, states], G an orthonormal basis of the left null space of
    ``rest_stoichiometry`` [states, reactions]: P[i, k] != 0 when states i and k share a
    conserved moiety of those reactions."""
    n_states = rest_stoichiometry.shape[0]
    if rest_stoichiometry.shape[1] == 0:
        return np.eye(n_states)
    basis = scipy.linalg.null_space(rest_stoichiometry.T, rcond=rtol)
    return basis @ basis.T


def split_biomass(
    coefficients: Mapping[str, float],
    direction: int,
    substrates: Sequence[str],
    states: Sequence[str],
    rest_stoichiometry: np.ndarray,
    carbon: Mapping[str, float] | None = None,
    tol: float = 1e-8,
) -> list[BiomassPart]:
    """The drains of the state ``substrates`` (in their order) and the rest (last, when it
    is not empty) of a biomass reaction with ``coefficients`` run in ``direction``.

    ``rest_stoichiometry`` [states, reactions]: the other kinetic reactions over ``states``,
    whose moieties decide which product goes with which substrate (module docstring).
    ``carbon``: carbon atoms per metabolite id (missing: none), for the growth shares.
    """
    state_index = {m: i for i, m in enumerate(states)}
    drained = [s for s in substrates if s in state_index]
    products = [
        m for m, c in coefficients.items()
        if m in state_index and m not in drained and direction * c > 0
    ]
    assignment = _assign_products(
        {m: abs(float(c)) for m, c in coefficients.items() if m in state_index},
        drained,
        products,
        [state_index[m] for m in drained],
        [state_index[m] for m in products],
        rest_stoichiometry,
        tol,
    )
    sign = 1.0 if direction > 0 else -1.0
    parts = {s: {s: float(coefficients[s])} for s in drained}
    rest: dict[str, float] = {}
    for metabolite, coefficient in coefficients.items():
        if metabolite in parts:
            continue
        shares = assignment.get(metabolite, {})
        for substrate, amount in shares.items():
            parts[substrate][metabolite] = sign * amount
        left = float(coefficient) - sign * sum(shares.values())
        if abs(left) > tol * max(abs(float(coefficient)), 1.0):
            rest[metabolite] = left
    # Unpaired state by-products follow growth: each drain takes its share of growth.
    shares = growth_shares(parts, direction, carbon or {})
    for metabolite in [m for m in rest if m in state_index and shares]:
        left = rest.pop(metabolite)
        for substrate, share in [item for item in shares.items() if item[1] > 0]:
            parts[substrate][metabolite] = parts[substrate].get(metabolite, 0.0) + share * left
    result = [BiomassPart(s, parts[s], shares.get(s, 0.0)) for s in drained]
    if rest:
        result.append(BiomassPart(None, rest))
    return result


def growth_shares(
    parts: Mapping[str, Mapping[str, float]], direction: int, carbon: Mapping[str, float]
) -> dict[str, float]:
    """Substrate -> growth share g_s of the drains ``parts`` (substrate -> paired
    stoichiometry): their carbon shares, or their coefficient shares where no drain takes
    carbon (module docstring)."""
    taken = {
        s: max(-direction * sum(c * carbon.get(m, 0.0) for m, c in part.items()), 0.0)
        for s, part in parts.items()
    }
    if sum(taken.values()) <= 0:
        taken = {s: abs(float(part[s])) for s, part in parts.items()}
    total = sum(taken.values())
    return {s: value / total for s, value in taken.items()} if total > 0 else {}


def _assign_products(
    amount: Mapping[str, float],
    drained: Sequence[str],
    products: Sequence[str],
    drained_rows: Sequence[int],
    product_rows: Sequence[int],
    rest_stoichiometry: np.ndarray,
    tol: float,
) -> dict[str, dict[str, float]]:
    """Product -> {substrate: amount per unit biomass flux}: the linear program of the
    module docstring (the rest takes what is not assigned)."""
    projector = moiety_projector(rest_stoichiometry)
    pairs = [
        (i, k)
        for i, p_row in enumerate(product_rows)
        for k, s_row in enumerate(drained_rows)
        if abs(projector[p_row, s_row]) > tol
    ]
    if not pairs:
        return {}
    # Moieties of the lumped model: the rest's, less those the biomass column changes.
    column = np.zeros(rest_stoichiometry.shape[0])
    for k, row in enumerate(drained_rows):
        column[row] = -amount[drained[k]]
    for i, row in enumerate(product_rows):
        column[row] = amount[products[i]]
    moieties = scipy.linalg.null_space(
        np.column_stack([rest_stoichiometry, column]).T, rcond=1e-10
    )
    n_moieties = moieties.shape[1]
    n_pairs, n_products, n_columns = len(pairs), len(products), len(drained) + 1
    n_slack = 2 * n_columns * n_moieties
    cost = np.concatenate(
        [
            [1.0 + abs(np.log(amount[products[i]] / amount[drained[k]])) for i, k in pairs],
            np.full(n_products, 100.0),
            np.full(n_slack, 1.0e4),
        ]
    )
    equalities = np.zeros((n_products + n_columns * n_moieties, len(cost)))
    target = np.zeros(len(equalities))
    for v, (i, k) in enumerate(pairs):
        equalities[i, v] = 1.0
        rows = n_products + k * n_moieties + np.arange(n_moieties)
        equalities[rows, v] = moieties[product_rows[i]]
    for i in range(n_products):
        equalities[i, n_pairs + i] = 1.0
        target[i] = amount[products[i]]
        rows = n_products + len(drained) * n_moieties + np.arange(n_moieties)
        equalities[rows, n_pairs + i] = moieties[product_rows[i]]
    for k, row in enumerate(drained_rows):
        target[n_products + k * n_moieties + np.arange(n_moieties)] = (
            amount[drained[k]] * moieties[row]
        )
    slack = n_pairs + n_products
    for c in range(n_columns * n_moieties):
        equalities[n_products + c, slack + 2 * c] = 1.0
        equalities[n_products + c, slack + 2 * c + 1] = -1.0
    solution = scipy.optimize.linprog(
        cost, A_eq=equalities, b_eq=target, bounds=(0, None), method="highs"
    )
    if not solution.success:
        raise ValueError(f"pairing the biomass products failed: {solution.message}")
    assignment: dict[str, dict[str, float]] = {}
    for v, (i, k) in enumerate(pairs):
        value = float(solution.x[v])
        if value > tol * amount[products[i]]:
            assignment.setdefault(products[i], {})[drained[k]] = value
    return assignment
