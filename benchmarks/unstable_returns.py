"""Does an unstable model "return"? The perturbation test's integrator against other settings.

    python benchmarks/unstable_returns.py [--results results] [--env acetate_aerobic]
        [--group unstable] [--model 6] [--perturbations 2] [--magnitude 0.1] [--slow]

Run in the folder that holds a workflow run's ``config.yaml`` and ``results/``. Rebuilds one
tested model from ``results/validation/{env}/parameters.parquet``, prints its lambda_max (the
reduced Jacobian's, from the validation table) and the full Jacobian's extreme eigenvalues,
draws ``--perturbations`` perturbations (seeded, moiety totals kept) and integrates each to
twice the return time with the test's own settings (LSODA, rtol 1e-4, atol 1e-6 x) and with
others: tighter tolerances, a step capped by 1/lambda_max, BDF; ``--slow`` adds LSODA and Radau
at rtol 1e-8 (minutes per integration). Prints the final and largest relative deviation from
the steady state per setting. A model with lambda_max >= 0 that "returns" under one setting
and departs under another returned by integration error.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml
from scipy.integrate import solve_ivp

from kinetigen.io import read_csv, read_parquet
from kinetigen.kinetics import KineticsSettings, NonlinearModel
from kinetigen.kinetics.structure import build_kinetic_model
from kinetigen.network import load_network
from kinetigen.validation.ensembles import LN_KM_PREFIX
from kinetigen.validation.perturbation import perturb_concentrations


def tested_model(results: Path, config: dict, env: str, group: str, index: int):
    """The NonlinearModel of model ``index`` of ``group`` in ``env``'s validation outputs, and
    its row of the perturbation table (lambda_max, return time)."""
    network = load_network(config["model"], solver=config.get("solver", "hybrid"))
    samples = read_parquet(results / "envs" / env / "kinetic_steady_states.parquet")
    model = build_kinetic_model(network, samples, KineticsSettings.from_config(config), env)
    parameters = read_parquet(results / "validation" / env / "parameters.parquet")
    row = parameters[(parameters["group"] == group) & (parameters["model"] == index)]
    if row.empty:
        raise SystemExit(f"{env}: no model {index} in group {group!r}")
    row = row.iloc[0]
    ln_km = row[[LN_KM_PREFIX + name for name in model.parameter_names]].to_numpy(float)
    tests = read_csv(results / "validation" / env / "perturbation.csv")
    tested = tests[(tests["group"] == group) & (tests["model"] == index)].iloc[0]
    return NonlinearModel(model, int(row["steady_state"]), ln_km), tested


def settings(lambda_max: float, x_ref: np.ndarray, slow: bool) -> dict[str, dict]:
    """solve_ivp options by name: the return test's first, then the alternatives."""
    test = {"method": "LSODA", "rtol": 1e-4, "atol": 1e-6 * x_ref}
    cap = 1.0 / max(abs(lambda_max), 1e-12)
    options = {
        "test (LSODA 1e-4)": test,
        "LSODA rtol 1e-6": {**test, "rtol": 1e-6, "atol": 1e-8 * x_ref},
        "LSODA atol 1e-10 x": {**test, "atol": 1e-10 * x_ref},
        "LSODA step <= 0.5/lambda": {**test, "max_step": 0.5 * cap},
        "LSODA step <= 0.05/lambda": {**test, "max_step": 0.05 * cap},
        "BDF step <= 0.05/lambda": {**test, "method": "BDF", "max_step": 0.05 * cap},
    }
    if slow:
        tight = {**test, "rtol": 1e-8, "atol": 1e-12 * x_ref}
        options["LSODA rtol 1e-8"] = tight
        options["Radau rtol 1e-8"] = {**tight, "method": "Radau"}
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--env", default="acetate_aerobic")
    parser.add_argument("--group", default="unstable")
    parser.add_argument("--model", type=int, default=6)
    parser.add_argument("--perturbations", type=int, default=2)
    parser.add_argument("--magnitude", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", action="store_true", help="add rtol 1e-8 (minutes each)")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    nonlinear, tested = tested_model(args.results, config, args.env, args.group, args.model)
    x_ref = nonlinear.x_ref
    lambda_max = float(tested["lambda_max"])
    horizon = 2.0 * float(tested["return_time_h"])
    eigenvalues = np.linalg.eigvals(nonlinear.jac(0.0, x_ref)).real
    print(
        f"{args.env} {args.group} model {args.model}: lambda_max {lambda_max:.4g} 1/h; full "
        f"Jacobian real parts {eigenvalues.min():.3g} to {eigenvalues.max():.4g} 1/h; "
        f"horizon {horizon:.3g} h"
    )
    rng = np.random.default_rng(args.seed)
    t_eval = np.linspace(0.0, horizon, 201)
    for repeat in range(args.perturbations):
        x0 = perturb_concentrations(x_ref, args.magnitude, rng, nonlinear.conservation_matrix)
        for name, options in settings(lambda_max, x_ref, args.slow).items():
            start = time.perf_counter()
            solution = solve_ivp(
                nonlinear.rhs, (0.0, horizon), x0, jac=nonlinear.jac, t_eval=t_eval, **options
            )
            seconds = time.perf_counter() - start
            if solution.y.shape[1] != len(t_eval) or np.any(solution.y <= 0):
                print(f"  {repeat} {name:26s} failed: {solution.message}")
                continue
            deviation = np.max(np.abs(solution.y - x_ref[:, None]) / x_ref[:, None], axis=0)
            print(
                f"  {repeat} {name:26s} final {deviation[-1]:.2e}  largest {deviation.max():.2e}"
                f"  ({solution.nfev} rhs, {seconds:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
