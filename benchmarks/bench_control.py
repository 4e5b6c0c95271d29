"""Control coefficients per second: batched (ControlAnalysis, torch) against a per-model numpy
loop (control_coefficients_single), in one run.

Builds one environment's kinetic model of e_coli_core on made-up steady states (see
kinetigen.kinetics.synthetic; the cost does not depend on where the steady states come from),
draws B ORACLE-style Km sets, and times, interleaved and repeated:

- ``batched``: ControlAnalysis on all B models (elasticities, moiety link, one batched solve,
  C^x and C^J, status and theorem residuals);
- ``batched-bare``: the same without the connectivity check (``residual_tolerance=None``):
  coefficients and status only, what the loop computes;
- ``loop``: control_coefficients_single, one model at a time in plain numpy (rates and dv/dx
  of the nonlinear model, one solve per model), on the first ``--loop`` models.

Both give every C^J and C^x of a model; the two agree to rounding (the tests check 1e-9).
Prints models per second of each and the ratio batched / loop. Usage:

    python benchmarks/bench_control.py [--env glucose_aerobic] [--batch 2000] [--loop 200]
        [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from kinetigen.analysis import ControlAnalysis, control_coefficients_single
from kinetigen.config import validate_config
from kinetigen.kinetics import build_kinetic_model
from kinetigen.kinetics.synthetic import synthetic_steady_states
from kinetigen.network import load_network

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--env", default="glucose_aerobic")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--loop", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steady-states", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with open(args.config) as handle:
        config = validate_config(yaml.safe_load(handle))
    network = load_network(config["model"], solver=config["solver"])
    samples = synthetic_steady_states(
        network, args.env, config["environments"][args.env], config, args.steady_states, seed=0
    )
    model = build_kinetic_model(network, samples, config, args.env)
    rng = np.random.default_rng(0)
    positions = np.arange(args.batch) % model.n_steady_states
    saturation = rng.uniform(0.02, 0.98, size=(args.batch, len(model.parameters)))
    ln_km = model.ln_km_from_saturation(saturation, positions)
    analysis = ControlAnalysis(model)
    bare = ControlAnalysis(model, residual_tolerance=None)
    n_loop = min(args.loop, args.batch)

    def batched() -> None:
        analysis(ln_km, positions, batch_size=args.batch)

    def batched_bare() -> None:
        bare(ln_km, positions, batch_size=args.batch)

    def loop() -> None:
        for b in range(n_loop):
            control_coefficients_single(model, int(positions[b]), ln_km[b])

    batched()  # warm-up (allocations, first-call overheads)
    functions = {"batched": batched, "batched-bare": batched_bare, "loop": loop}
    counts = {"batched": args.batch, "batched-bare": args.batch, "loop": n_loop}
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(args.repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    rates = {name: counts[name] / statistics.median(times[name]) for name in functions}
    sizes = model.sizes()
    print(
        f"{args.env}: {sizes['independent_states']} independent states, {sizes['moieties']} "
        f"moieties, {sizes['reactions']} reactions, {sizes['km_parameters']} Km; "
        f"torch threads {args.threads}"
    )
    print(f"{'path':13s} {'models':>7s} {'median s':>9s} {'min s':>8s} {'models/s':>10s}")
    for name in functions:
        print(
            f"{name:13s} {counts[name]:7d} {statistics.median(times[name]):9.3f} "
            f"{min(times[name]):8.3f} {rates[name]:10.0f}"
        )
    for name in ("batched", "batched-bare"):
        print(f"ratio {name} / loop (models per second): {rates[name] / rates['loop']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
