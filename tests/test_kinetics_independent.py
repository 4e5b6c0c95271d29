"""kinetigen's batched lambda_max against an independent reference on sampled e_coli_core.

The reference below imports nothing from ``kinetigen.kinetics``: it rebuilds the kinetic
model from cobra's ``reaction.metabolites``, the steady-state table (``flux:`` mmol/gDW/h,
``lnc:`` ln mol/L, ``dg:`` kJ/mol) and the config's physical constants, following the
conventions of DESIGN.md 2.4 and the README ("Validity", "Modelling choices"):

- states: metabolites of the kept reactions outside the boundary compartment ``e``, except
  H+, H2O and the small molecules (``physiology.small_molecules``), which are constant;
- kept reactions: active (|v| > 1e-9 mmol/gDW/h), not exchanges, changing at least one state;
- rate law in the flux direction d: ``v = d Vmax prod_s u_s^n_s (1 - Gamma) / D`` with
  ``u = x / Km`` and ``n`` the coefficient's magnitude when whole (else 1). Reversible laws
  (reactions with a dG column; never the biomass reaction) are convenience kinetics with
  ``D = prod_s P_s + prod_p P_p - 1``, ``P = 1 + u + ... + u^n``, and
  ``Gamma = exp(d (ln Q - ln Keq))`` over all reactants but H+ and H2O; small molecules
  enter Gamma only. Irreversible laws (biomass) have ``Gamma = 0``, ``D = prod_s P_s`` over
  every substrate but H+ and H2O, with ``n = 1`` per biomass substrate.
  Of the textbook variants for a reactant with coefficient n >= 2 this is the documented
  one, Liebermeister & Klipp's (2006) ``1 + u + ... + u^n``, not the "common modular" rate
  law's ``(1 + u)^n``; it matters here for ADK1 (amp + atp <=> 2 adp);
- Keq from the displacement: ln Keq = ln Q(x_ref) - dG / RT, R = 8.314462618e-3 kJ/mol/K;
  Vmax from the flux: Vmax = |v| 1e-3 rho / vhat(x_ref; Vmax = 1) in mol/L/h;
- Jacobian of dx/dt = N v(x) by central differences in ln x (Richardson-extrapolated),
  moieties from the left null space of N (SVD), reduced Jacobian B^T J B on an orthonormal
  basis B of range(N) (not kinetigen's pivoted link matrix); eigenvalues with numpy.

From kinetigen the test uses the sampling stage (to get real steady states), the kinetic
model builder and BatchedJacobian (under test), and of the model only its sample ids and
Km parameter names (to lay out the ln Km vector it expects).

Sizes: glucose_aerobic 36 states (31 independent), 34 reactions, 118 Km; pyruvate_aerobic
40 states (35), 39 reactions, 136 Km; 3 steady states x 4 Km sets each. When written, the
largest relative lambda_max difference was 6e-8 (finite-difference error); the (1 + u)^n
variant for ADK1 would differ by up to 2e-3.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.optimize

from kinetigen.kinetics import BatchedJacobian, build_kinetic_model
from kinetigen.sampling import ThermoEnvironment, run_tfa, sample_steady_states

R_KJ = 8.314462618e-3  # kJ/mol/K
FIXED = {"h", "h2o"}  # H+ and H2O: constant, in no rate law
ACTIVE_TOL = 1e-9  # mmol/gDW/h
# pyruvate_aerobic runs ADK1 (amp + atp -> 2 adp); glucose_aerobic is the main medium.
ENVIRONMENTS = ("glucose_aerobic", "pyruvate_aerobic")
N_STEADY_STATES = 3
KM_SETS = 4
LAMBDA_RTOL = 1e-5


def _base(metabolite_id: str) -> str:
    return metabolite_id.rpartition("_")[0] or metabolite_id


def _whole_exponent(coefficient: float) -> int:
    magnitude = abs(coefficient)
    whole = round(magnitude)
    return int(whole) if whole >= 1 and abs(magnitude - whole) < 1e-9 else 1


class Reference:
    """Independent kinetic model of one steady state (a row of the sample table).

    ``km`` maps ``km_<reaction>_<metabolite>`` to Km in mol/L; built without Km it only
    knows its structure (``states``, ``reactions``, ``km_names``).
    """

    def __init__(self, cobra_model, row: pd.Series, config: dict, km: dict | None = None):
        physiology = config["physiology"]
        kinetics = config.get("kinetics") or {}
        self.rt = R_KJ * float(physiology["temperature_K"])
        to_molar = 1e-3 * float(physiology["cell_density_gDW_per_L"])
        small = set(physiology["small_molecules"])
        boundary_compartments = set(kinetics.get("boundary_compartments", ["e"]))
        constant_small = kinetics.get("constant_small_molecules", True)
        biomass_id = config["biomass_reaction"]

        def is_state(metabolite) -> bool:
            base = _base(metabolite.id)
            return not (
                base in FIXED
                or metabolite.compartment in boundary_compartments
                or (constant_small and base in small)
            )

        exchanges = {r.id for r in cobra_model.reactions if len(r.metabolites) == 1}
        reactions = []
        for reaction in cobra_model.reactions:
            flux = float(row[f"flux:{reaction.id}"])
            if reaction.id in exchanges or abs(flux) <= ACTIVE_TOL:
                continue
            if any(is_state(m) for m in reaction.metabolites):
                reactions.append((reaction, flux))
        used = {m.id for r, _ in reactions for m in r.metabolites}
        self.states = [m.id for m in cobra_model.metabolites if m.id in used and is_state(m)]
        self.reactions = [r.id for r, _ in reactions]
        self.ln_c = {m: float(row[f"lnc:{m}"]) for m in used if _base(m) not in FIXED}
        self.x_ref = np.exp([self.ln_c[m] for m in self.states])
        position = {m: i for i, m in enumerate(self.states)}
        self.stoichiometry = np.zeros((len(self.states), len(reactions)))
        self.coefficient_two = set()  # (reaction, state) with |coefficient| == 2
        self.laws = []
        for j, (reaction, flux) in enumerate(reactions):
            direction = 1 if flux > 0 else -1
            dg_column = f"dg:{reaction.id}"
            reversible = (
                reaction.id != biomass_id
                and dg_column in row.index
                and np.isfinite(pd.to_numeric(row[dg_column], errors="coerce"))
            )
            saturating, thermodynamic = [], {}
            for metabolite, coefficient in reaction.metabolites.items():
                mid, coefficient = metabolite.id, float(coefficient)
                if mid in position:
                    self.stoichiometry[position[mid], j] = coefficient
                    if abs(abs(coefficient) - 2.0) < 1e-12:
                        self.coefficient_two.add((reaction.id, mid))
                if _base(mid) in FIXED:
                    continue
                consumed = direction * coefficient < 0
                if reversible:
                    thermodynamic[mid] = coefficient
                    if _base(mid) in small:
                        continue
                elif not consumed:
                    continue
                exponent = 1 if reaction.id == biomass_id else _whole_exponent(coefficient)
                saturating.append((mid, exponent, consumed))
            law = {
                "reaction": reaction.id,
                "direction": direction,
                "reversible": reversible,
                "saturating": saturating,
                "thermodynamic": thermodynamic,
                "rate": flux * to_molar,
            }
            if reversible:
                ln_q = sum(c * self.ln_c[m] for m, c in thermodynamic.items())
                law["ln_keq"] = ln_q - float(row[dg_column]) / self.rt
            self.laws.append(law)
        self.km_metabolite = {
            f"km_{law['reaction']}_{m}": m for law in self.laws for m, _, _ in law["saturating"]
        }
        self.km_names = list(self.km_metabolite)
        if km is not None:
            self.km = km
            self.vmax = np.ones(len(self.laws))
            unit = self.rates(self.x_ref[None, :])[0]
            self.vmax = np.array([abs(law["rate"]) for law in self.laws]) / np.abs(unit)

    def rates(self, x: np.ndarray) -> np.ndarray:
        """Rates [K, reactions] (mol/L/h) at state concentrations x [K, states]."""
        column = {m: i for i, m in enumerate(self.states)}

        def conc(m):
            return x[:, column[m]] if m in column else np.full(len(x), math.exp(self.ln_c[m]))

        out = np.zeros((len(x), len(self.laws)))
        for j, law in enumerate(self.laws):
            numerator = np.ones(len(x))
            substrate_side = np.ones(len(x))
            product_side = np.ones(len(x))
            for m, n, substrate in law["saturating"]:
                u = conc(m) / self.km[f"km_{law['reaction']}_{m}"]
                polynomial = sum(u**k for k in range(n + 1))
                if substrate:
                    numerator *= u**n
                    substrate_side *= polynomial
                else:
                    product_side *= polynomial
            if law["reversible"]:
                ln_q = sum(c * np.log(conc(m)) for m, c in law["thermodynamic"].items())
                ln_gamma = law["direction"] * (ln_q - law["ln_keq"])
                thermo = -np.expm1(ln_gamma)  # 1 - Gamma
                denominator = substrate_side + product_side - 1.0
            else:
                thermo = 1.0
                denominator = substrate_side
            out[:, j] = law["direction"] * self.vmax[j] * numerator * thermo / denominator
        return out

    def rhs(self, x: np.ndarray) -> np.ndarray:
        return self.rates(x) @ self.stoichiometry.T

    def displacement(self) -> np.ndarray:
        """ln Gamma at x_ref (reversible laws; NaN otherwise), flux-oriented."""
        return np.array(
            [
                law["direction"]
                * (sum(c * self.ln_c[m] for m, c in law["thermodynamic"].items()) - law["ln_keq"])
                if law["reversible"]
                else np.nan
                for law in self.laws
            ]
        )

    def jacobian(self, step: float = 2e-4) -> np.ndarray:
        """Full Jacobian d(dx/dt)/dx at x_ref: central differences in ln x, Richardson."""
        n = len(self.states)

        def central(h):
            shift = np.exp(h * np.eye(n))
            rates = self.rates(np.vstack([self.x_ref * shift, self.x_ref / shift]))
            return (rates[:n] - rates[n:]).T / (2.0 * h)  # [reactions, states] dv/dln x

        dv_dlnx = (4.0 * central(step / 2) - central(step)) / 3.0
        return self.stoichiometry @ dv_dlnx / self.x_ref[None, :]

    def reduced(self, jacobian: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(reduced Jacobian on an orthonormal basis of range(N), conservation matrix)."""
        conservation = scipy.linalg.null_space(self.stoichiometry.T).T  # G N = 0
        basis = (
            scipy.linalg.null_space(conservation) if len(conservation) else np.eye(len(self.states))
        )
        return basis.T @ jacobian @ basis, conservation


def _sample(cobra_model, energies, config, env_name, seed):
    sampling = dict(config["sampling"], n_samples=N_STEADY_STATES, thinning=20, processes=1)
    tfa = dict(config["tfa"], variability=False)
    environment = ThermoEnvironment.from_config(cobra_model, energies, config, env_name)
    summary, _ = run_tfa(environment, tfa, sampling=sampling)
    return sample_steady_states(
        environment,
        tfa,
        sampling,
        summary["directionality"],
        seed,
        min_growth=summary["min_growth"],
    )


@pytest.fixture(scope="module")
def cases(_textbook, textbook_energies, _default_config):
    """Per environment: sampled steady states, kinetigen's model, and Km sets drawn here.

    Km sets (dict name -> Km, mol/L) per steady state: three with saturations x/(x+Km)
    uniform in (0.05, 0.95), one log-uniform in [1e-6, 1e-1] mol/L.
    """
    rng = np.random.default_rng(20240609)
    out = {}
    for seed, env_name in enumerate(ENVIRONMENTS, start=31):
        samples = _sample(_textbook, textbook_energies, _default_config, env_name, seed)
        kinetic = build_kinetic_model(_textbook, samples, _default_config, env_name)
        rows = []
        for sample_id in kinetic.sample_ids:
            row = samples.loc[sample_id]
            structure = Reference(_textbook, row, _default_config)
            for k in range(KM_SETS):
                if k < KM_SETS - 1:
                    sigma = rng.uniform(0.05, 0.95, size=len(structure.km_names))
                    x = np.exp([float(row[f"lnc:{m}"]) for m in structure.km_metabolite.values()])
                    km = dict(zip(structure.km_names, x * (1 - sigma) / sigma, strict=True))
                else:
                    km = {name: 10 ** rng.uniform(-6, -1) for name in structure.km_names}
                rows.append((sample_id, Reference(_textbook, row, _default_config, km)))
        out[env_name] = (samples, kinetic, rows)
    return out


def _kinetigen_inputs(kinetic, rows):
    positions = np.array([kinetic.position(sample_id) for sample_id, _ in rows])
    ln_km = np.log([[ref.km[name] for name in kinetic.parameter_names] for _, ref in rows])
    return ln_km, positions


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_independent_structure_matches(cases, env_name):
    """Same reactions, states and Km parameters, derived independently."""
    _, kinetic, rows = cases[env_name]
    reference = rows[0][1]
    assert set(reference.reactions) == set(kinetic.reactions)
    assert set(reference.states) == set(kinetic.states)
    assert sorted(reference.km_names) == sorted(kinetic.parameter_names)
    assert len(reference.states) > 30 and len(reference.reactions) > 30
    assert len(reference.km_names) > 100


def test_a_compared_reaction_has_coefficient_two(cases):
    """ADK1 (amp + atp <=> 2 adp) runs on pyruvate and saturates with exponent 2 on adp."""
    _, kinetic, rows = cases["pyruvate_aerobic"]
    reference = rows[0][1]
    assert ("ADK1", "adp_c") in reference.coefficient_two
    law = next(law for law in reference.laws if law["reaction"] == "ADK1")
    assert law["reversible"] and ("adp_c", 2) in [(m, n) for m, n, _ in law["saturating"]]
    assert "ADK1" in kinetic.reactions and "km_ADK1_adp_c" in kinetic.parameter_names


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_reference_rates_are_the_steady_state(cases, env_name, _default_config):
    """Own rates reproduce the sample's fluxes, and dx/dt = 0, to 1e-9 relative; own Keq
    gives the sample's displacement; own Vmax equals kinetigen's."""
    samples, kinetic, rows = cases[env_name]
    ln_km, positions = _kinetigen_inputs(kinetic, rows)
    vmax = BatchedJacobian(kinetic).evaluate(ln_km, positions)["vmax"].numpy()
    order = [kinetic.reactions.index(r) for r in rows[0][1].reactions]
    to_molar = 1e-3 * _default_config["physiology"]["cell_density_gDW_per_L"]  # mol/L/h
    for b, (sample_id, ref) in enumerate(rows):
        row = samples.loc[sample_id]
        rates = ref.rates(ref.x_ref[None, :])[0]
        expected = np.array([float(row[f"flux:{r}"]) for r in ref.reactions]) * to_molar
        np.testing.assert_allclose(rates, expected, rtol=1e-9, atol=0)
        scale = np.abs(ref.stoichiometry) @ np.abs(rates)
        assert np.all(np.abs(ref.rhs(ref.x_ref[None, :])[0]) <= 1e-9 * scale)
        reversible = np.array([law["reversible"] for law in ref.laws])
        dg = np.array([float(row[f"dg:{r}"]) for r in np.array(ref.reactions)[reversible]])
        direction = np.array([law["direction"] for law in ref.laws])[reversible]
        np.testing.assert_allclose(
            ref.displacement()[reversible], direction * dg / ref.rt, rtol=1e-10, atol=1e-10
        )
        np.testing.assert_allclose(vmax[b, order], ref.vmax, rtol=1e-9, atol=0)


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_lambda_max_matches_independent_reference(cases, env_name):
    """BatchedJacobian's lambda_max equals the finite-difference reference to 1e-5."""
    _, kinetic, rows = cases[env_name]
    ln_km, positions = _kinetigen_inputs(kinetic, rows)
    evaluator = BatchedJacobian(kinetic)
    out = evaluator.evaluate(ln_km, positions)
    worst = 0.0
    for b, (_, ref) in enumerate(rows):
        full = ref.jacobian()
        reduced, conservation = ref.reduced(full)
        assert np.abs(conservation @ ref.stoichiometry).max() < 1e-12
        assert reduced.shape == tuple(out["jacobian"].shape[1:])
        eigenvalues = np.linalg.eigvals(reduced)
        expected = eigenvalues.real.max()
        actual = out["lambda_max"][b].item()
        relative = abs(actual - expected) / abs(expected)
        worst = max(worst, relative)
        assert relative <= LAMBDA_RTOL, (b, actual, expected)
        # The whole spectrum agrees too (paired by distance, relative to its radius).
        theirs = out["eigenvalues"][b].numpy()
        distance = np.abs(eigenvalues[:, None] - theirs[None, :])
        mine_index, their_index = scipy.optimize.linear_sum_assignment(distance)
        radius = np.abs(eigenvalues).max()
        assert distance[mine_index, their_index].max() <= 1e-5 * radius
    print(f"{env_name}: {len(rows)} Km sets, worst relative lambda_max difference {worst:.2e}")
