"""Genome-scale TFA timings: iJO1366 with config/ijo1366_core.yaml, one environment.

    python benchmarks/genome_scale_tfa.py --energies results/thermo --time-limit 400
    python benchmarks/genome_scale_tfa.py --energies results/thermo --basis diagonal

Times the reaction energies (unless ``--energies`` names a folder that holds them), building
the TFA MILP, maximum growth and the reference solution with the overlay's
``sampling.margin_reactions``, each HiGHS solve capped at ``--time-limit`` seconds.
``--basis diagonal`` replaces the correlated dG'0 basis by one axis per reaction (the bands
alone): an experiment that shows what the dense basis costs, not a workflow setting. HiGHS
logs go to ``--logs`` (one file per solve).
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from snakemake.utils import update_config

from kinetigen.config import with_defaults
from kinetigen.network import load_network
from kinetigen.sampling import problem as problem_module
from kinetigen.sampling.environment import ThermoEnvironment
from kinetigen.sampling.problem import build_tfa_problem
from kinetigen.sampling.reference import reference_solution
from kinetigen.sampling.solver import HighsMILP
from kinetigen.settings import TFASettings
from kinetigen.thermo import ReactionEnergies, reaction_energies

REPO = Path(__file__).resolve().parents[1]


def overlay_config() -> dict:
    with open(REPO / "config.yaml") as handle:
        config = yaml.safe_load(handle)
    with open(REPO / "config" / "ijo1366_core.yaml") as handle:
        update_config(config, yaml.safe_load(handle))
    return with_defaults(config)


def diagonal(energies: ReactionEnergies) -> ReactionEnergies:
    """The same marginal standard deviations, no correlation: one basis axis per reaction."""
    std = energies.table.loc[energies.constrained, "dg0_std_kJ"].to_numpy(float)
    live = np.flatnonzero(std > 0)
    basis = pd.DataFrame(
        np.diag(std)[:, live],
        index=pd.Index(energies.constrained, name="reaction"),
        columns=[f"d{k}" for k in live],
    )
    return ReactionEnergies(table=energies.table, sqrt_cov=basis, unmapped=energies.unmapped)


def capped_highs(time_limit: float, logs: Path) -> type[HighsMILP]:
    """HighsMILP with a time limit and a log file per solve (swapped into the problem
    module, which builds one per solve)."""
    count = [0]

    class Capped(HighsMILP):
        def __init__(self, model) -> None:
            start = time.perf_counter()
            super().__init__(model)
            count[0] += 1
            self.highs.setOptionValue("time_limit", time_limit)
            self.highs.setOptionValue("output_flag", True)
            self.highs.setOptionValue("log_to_console", False)
            self.highs.setOptionValue("log_file", str(logs / f"solve{count[0]}.log"))
            nonzeros = self.highs.getLp().a_matrix_.value_
            print(
                f"  HiGHS model: {self.highs.getNumCol()} columns, {self.highs.getNumRow()} "
                f"rows, {len(nonzeros)} nonzeros, handed over in "
                f"{time.perf_counter() - start:.1f} s",
                flush=True,
            )

    return Capped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--energies", type=Path, default=None)
    parser.add_argument("--environment", default="glucose_aerobic")
    parser.add_argument("--basis", choices=["correlated", "diagonal"], default="correlated")
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--logs", type=Path, default=REPO / "benchmarks" / "out" / "tfa_logs")
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    config = overlay_config()
    model = load_network(config["model"], solver=config["solver"])
    if args.energies is not None and (args.energies / "reaction_energies.csv").exists():
        energies = ReactionEnergies.load(args.energies)
    else:
        start = time.perf_counter()
        energies = reaction_energies(
            model, config["physiology"], config["thermo"], config["biomass_reaction"]
        )
        print(f"reaction energies: {time.perf_counter() - start:.1f} s", flush=True)
        if args.energies is not None:
            energies.save(args.energies)
    if args.basis == "diagonal":
        energies = diagonal(energies)
    problem_module.HighsMILP = capped_highs(args.time_limit, args.logs)
    env = ThermoEnvironment.from_config(model, energies, config, args.environment)
    tfa = TFASettings.from_section(dict(config["tfa"], variability=False))

    start = time.perf_counter()
    problem = build_tfa_problem(env, tfa)
    print(f"{args.basis} basis: TFA MILP built in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    growth = problem.optimize(problem.flux_coefficients(env.biomass_reaction), "max")
    print(
        f"maximum growth: {growth.status}, {growth.objective:.5f} 1/h, "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    if not growth.optimal:
        return
    sampling = copy.deepcopy(config["sampling"])
    start = time.perf_counter()
    try:
        reference = reference_solution(
            problem,
            tfa.directionality,
            tfa.min_growth_fraction * growth.objective,
            min_abs_dg_kJ=sampling["min_abs_dg_kJ"],
            min_abs_flux=sampling["min_abs_flux"],
            margin_reactions=sampling["margin_reactions"],
        )
    except RuntimeError as error:
        print(f"reference: {error} ({time.perf_counter() - start:.1f} s)")
        return
    active = sum(1 for sign in reference.directionality.values() if sign)
    print(
        f"reference ({tfa.directionality}): {active} active reactions, "
        f"{time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
