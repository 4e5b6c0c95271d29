"""Stability benchmark on the toy problem: methods x seeds at an equal model-evaluation budget.

Trains a conditional generator on three toy environments with each method and seed, records the
centre's incidence on a fixed monitor batch every generation, and prints the per-method summary
(fraction of seeds reaching the target on every environment, evaluations needed, final worst-
environment incidence, worst drop between consecutive generations).

    /tmp/venv/bin/python benchmarks/bench_stability_toy.py --seeds 10 --budget 300000 \
        --out results/benchmark/toy
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd
import torch

from kinetigen.es import build_optimizer, summarise_stability, train
from kinetigen.es.toy import make_toy_setup, toy_problem
from kinetigen.generator import flatten_parameters
from kinetigen.io import write_csv
from kinetigen.methods import METHODS

logger = logging.getLogger("bench_stability_toy")


def run_one(
    method: str,
    seed: int,
    budget: int,
    models_per_member: int,
    hidden: tuple[int, ...],
    mode: str,
    toy_seed: int,
    options: dict | None = None,
) -> pd.DataFrame:
    """History of one training run (monitor incidence on a fixed 200-model batch)."""
    setup = make_toy_setup(seed=toy_seed)
    problem, _ = toy_problem(
        setup,
        setup.environment_names[:3],
        mode,
        condition_dim=3,
        models_per_member=models_per_member,
        hidden=hidden,
        latent_dim=4,
        seed=seed,
    )
    optimizer = build_optimizer(method, flatten_parameters(problem.generator), seed, options)
    result = train(
        problem,
        optimizer,
        max_generations=10**6,
        max_model_evaluations=budget,
        monitor_models=200,
        monitor_seed=10_000 + seed,
    )
    history = result.history
    history.insert(0, "seed", seed)
    history.insert(0, "method", method)
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=300_000, help="model evaluations per run")
    parser.add_argument("--models-per-member", type=int, default=100)
    parser.add_argument("--hidden", type=int, nargs="+", default=[32, 32])
    parser.add_argument(
        "--mode", default="conditional", choices=["conditional", "shared", "per-environment"]
    )
    parser.add_argument("--toy-seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument(
        "--options",
        type=json.loads,
        default={},
        help="per-method optimiser options as JSON, e.g. "
        '\'{"renaissance": {"reward": "incidence"}}\'',
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for the CSV outputs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    torch.set_num_threads(1)  # tiny tensors: threads only add contention

    histories: dict[tuple[str, int], pd.DataFrame] = {}
    for method in args.methods:
        for seed in range(args.seeds):
            started = time.perf_counter()
            histories[method, seed] = run_one(
                method,
                seed,
                args.budget,
                args.models_per_member,
                tuple(args.hidden),
                args.mode,
                args.toy_seed,
                args.options.get(method),
            )
            logger.info("%s seed %d: %.1f s", method, seed, time.perf_counter() - started)
    summary = summarise_stability(histories, target=args.target)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.round(3).to_string(index=False))
    if args.out is not None:
        write_csv(pd.concat(histories.values(), ignore_index=True), args.out / "histories.csv")
        write_csv(summary, args.out / "stability.csv")


if __name__ == "__main__":
    main()
