"""Batched lambda_max of kinetic models against raw torch.linalg.eigvals, side by side.

Builds one environment's kinetic model of e_coli_core on made-up steady states (see
kinetigen.kinetics.synthetic; the timing does not depend on where the steady states come
from), then times, interleaved and repeated:

- ``batched``: BatchedJacobian.lambda_max for B ORACLE-style Km sets (Jacobian build, one
  batched eigenvalue call, max real part, validity guard);
- ``raw``: torch.linalg.eigvals on B random Gaussian matrices of the same size;
- ``eig(J)``: torch.linalg.eigvals on the B Jacobians alone (the eigensolver's cost on these
  matrices, for reference).

The ratio is raw time / batched time (model evaluations per second relative to the raw
eigensolver); the target is >= 0.8. Usage:

    python benchmarks/bench_lambda_max.py [--env glucose_aerobic] [--batch 1000]
        [--repeats 7] [--device cpu|cuda|auto] [--threads N] [--evaluator-threads N]
        [--sizes] [--check] [--network results/core/glucose_aerobic/model.json]

``--network`` times another network than the config's model, e.g. a kinetic core's reduced
model (the iJO1366 core: about 90 states).

``--check`` also compares the device's lambda_max with the CPU path's
on the same Km sets: largest relative difference and how many models change validity.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import yaml

from kinetigen.kinetics import BatchedJacobian, build_kinetic_model
from kinetigen.kinetics.synthetic import synthetic_steady_states
from kinetigen.network import load_network

REPO = Path(__file__).resolve().parents[1]


def _timed(function, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    function()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--env", default="glucose_aerobic")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steady-states", type=int, default=50)
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", action="store_true", help="print sizes of every environment")
    parser.add_argument(
        "--check", action="store_true", help="compare the device's lambda_max with the CPU's"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--network", default=None, help="model file instead of config's model")
    parser.add_argument(
        "--evaluator-threads",
        type=int,
        default=1,
        help="BatchedJacobian cpu_threads (0: leave torch's setting)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)  # torch sparse beta notices
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    with open(args.config) as handle:
        config = yaml.safe_load(handle)
    network = load_network(
        args.network or config.get("model", "textbook"), config.get("solver", "hybrid")
    )

    if args.sizes:
        print("environment          states  independent  moieties  reactions  Km")
        for name, environment in config["environments"].items():
            samples = synthetic_steady_states(network, name, environment, config, 2, args.seed)
            sizes = build_kinetic_model(network, samples, config, name).sizes()
            print(
                f"{name:20s} {sizes['states']:6d} {sizes['independent_states']:12d} "
                f"{sizes['moieties']:9d} {sizes['reactions']:10d} {sizes['km_parameters']:4d}"
            )

    samples = synthetic_steady_states(
        network, args.env, config["environments"][args.env], config, args.steady_states, args.seed
    )
    model = build_kinetic_model(network, samples, config, args.env)
    evaluator = BatchedJacobian(model, device=device, cpu_threads=args.evaluator_threads or None)
    rng = np.random.default_rng(args.seed)
    positions = rng.integers(0, model.n_steady_states, size=args.batch)
    saturation = rng.uniform(size=(args.batch, len(model.parameters)))
    ln_km = torch.as_tensor(model.ln_km_from_saturation(saturation, positions), device=device)
    positions_t = torch.as_tensor(positions, device=device)
    n = model.n_reduced
    generator = torch.Generator(device=device).manual_seed(args.seed)
    random = torch.randn(
        (args.batch, n, n), dtype=torch.float64, device=device, generator=generator
    )
    jacobians = evaluator.jacobian(ln_km, positions_t)

    cases = {
        "batched": lambda: evaluator.lambda_max(ln_km, positions_t),
        "raw": lambda: torch.linalg.eigvals(random),
        "eig(J)": lambda: torch.linalg.eigvals(jacobians),
    }
    for function in cases.values():  # warm-up
        function()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, function in cases.items():
            times[name].append(_timed(function, device))

    print(
        f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}"
        f", torch threads {torch.get_num_threads()}, evaluator threads "
        f"{evaluator.cpu_threads or 'torch'}), torch {torch.__version__}"
    )
    print(
        f"environment {args.env}: {len(model.states)} states, {n} independent, "
        f"{len(model.rate_laws)} reactions, {len(model.parameters)} Km; batch {args.batch}, "
        f"{args.repeats} interleaved repeats"
    )
    print(f"{'case':10s} {'median s':>10s} {'min s':>10s} {'models/s (median)':>18s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:10s} {median:10.4f} {min(values):10.4f} {args.batch / median:18.0f}")
    ratio_median = statistics.median(times["raw"]) / statistics.median(times["batched"])
    ratio_min = min(times["raw"]) / min(times["batched"])
    build_share = 1.0 - statistics.median(times["eig(J)"]) / statistics.median(times["batched"])
    print(f"ratio raw/batched: median {ratio_median:.3f}, best-of {ratio_min:.3f} (target >= 0.8)")
    print(f"share of batched time outside the eigensolver: {build_share:.1%}")
    if args.check:
        on_device = evaluator.lambda_max(ln_km, positions_t).cpu()
        on_cpu = BatchedJacobian(model).lambda_max(ln_km.cpu(), positions_t.cpu())
        finite = torch.isfinite(on_cpu)
        same_inf = bool(torch.equal(torch.isfinite(on_device), finite))
        relative = ((on_device - on_cpu).abs() / on_cpu.abs().clamp_min(1e-12))[finite]
        threshold = torch.as_tensor(model.threshold, dtype=on_cpu.dtype)[positions_t.cpu()]
        flips = int(((on_device < threshold) != (on_cpu < threshold)).sum())
        print(
            f"check {device} vs cpu: max relative difference {float(relative.max()):.2e}, "
            f"same non-finite set {same_inf}, validity changed for {flips} of {args.batch}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
