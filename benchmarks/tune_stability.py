"""Equal, small tuning budget for every method of the stability benchmark, on seeds it never uses.

Each method gets the same three settings of its step size / noise / decay (the grid below,
published or default values first), one run per setting and tuning seed, each for the same
``--budget`` of model evaluations on the real problem (the default run's steady states, Km space
and attainability screens, read from ``results/``). Incidence is read on a fixed monitor batch
over the unseen evaluation steady states, as the benchmark does. Writes one row per run to
``--out`` and prints the best setting per method (median worst-environment incidence at the
end of the budget, then fewer evaluations to the target):

    python benchmarks/tune_stability.py --budget 500000 --processes 2 \
        --out benchmarks/out/tuning.csv

The table's seeds are 0-9 (``training.benchmark.first_seed`` 0); tuning uses 100 and up.
"""

from __future__ import annotations

import argparse
import copy
import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml
from snakemake.utils import update_config

from kinetigen.config import validate_config
from kinetigen.es.kinetic import TrainingInputs, train_generator
from kinetigen.es.stability import stability_runs
from kinetigen.io import write_csv
from kinetigen.network import load_network

# Three settings per method: the published / default one first, then a larger and a different
# step. Keys are options of training.<method>.
GRID: dict[str, list[dict[str, Any]]] = {
    "trnes": [{}, {"kl_mean_per_weight": 0.04}, {"sigma0": 0.1}],
    "renaissance": [{}, {"learning_rate": 1.0e-2}, {"decay": 1.0}],
    "renaissance-ours": [{}, {"learning_rate": 1.0e-2}, {"decay": 1.0}],
    "sep-cma": [{}, {"sigma0": 0.02}, {"sigma0": 0.1}],
}


def _config(paths: list[str]) -> dict:
    config: dict = {}
    for path in paths:
        update_config(config, yaml.safe_load(Path(path).read_text()))
    return validate_config(config)


def run_one(task: tuple) -> pd.DataFrame:
    """One tuning run: (config, results folder, method, options, seed, budget) -> history."""
    config, results, method, options, seed, budget = task
    torch.set_num_threads(1)
    config = copy.deepcopy(config)
    config["training"][method].update(options)
    environments = list(config["environments"])
    train_names = [e for e in environments if e not in config["training"]["heldout"]]
    inputs = TrainingInputs.read(
        load_network(config["model"], solver=config["solver"]),
        environments,
        [results / "envs" / e / "kinetic_steady_states.parquet" for e in environments],
        results / "kinetic" / "parameters.csv",
        [results / "envs" / e / "attainability.csv" for e in environments],
    )
    trained = train_generator(
        inputs,
        {key: config[key] for key in ("physiology", "biomass_reaction", "kinetics")}
        | {"generator": config["generator"], "training": config["training"]},
        method=method,
        seed=seed,
        mode=config["training"]["mode"],
        train_names=train_names,
        max_model_evaluations=budget,
        monitor_models=config["training"]["benchmark"]["monitor_models"],
    )
    return trained.result.history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", type=Path)
    parser.add_argument(
        "--config", nargs="+", default=["config.yaml", "config/stability_benchmark.yaml"]
    )
    parser.add_argument("--budget", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100])
    parser.add_argument("--methods", nargs="+", default=list(GRID))
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/tuning.csv", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    config = _config(args.config)
    target = config["training"]["benchmark"]["target"]
    keys = [
        (method, index, seed)
        for method in args.methods
        for index in range(len(GRID[method]))
        for seed in args.seeds
    ]
    tasks = [
        (config, args.results, method, GRID[method][index], seed, args.budget)
        for method, index, seed in keys
    ]
    with ProcessPoolExecutor(args.processes) as pool:
        histories = list(pool.map(run_one, tasks))
    rows = []
    for (method, index, seed), history in zip(keys, histories, strict=True):
        run = stability_runs({(method, seed): history}, target).iloc[0].to_dict()
        rows.append({"setting": index, "options": str(GRID[method][index]) or "{}", **run})
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(table, args.out)
    print(table.to_string(index=False))
    best = (
        table.groupby(["method", "setting", "options"], as_index=False)
        .agg(
            final_min_incidence=("final_min_incidence", "median"),
            evaluations_to_target=("evaluations_to_target", "median"),
        )
        .sort_values(
            ["method", "final_min_incidence", "evaluations_to_target"],
            ascending=[True, False, True],
        )
        .groupby("method")
        .head(1)
    )
    print("\nbest setting per method:\n" + best.to_string(index=False))


if __name__ == "__main__":
    main()
