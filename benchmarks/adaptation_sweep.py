"""What adaptation takes: fine-tuning runs at several search widths and weight subspaces, read
beside from scratch.

Run in a finished adaptation run's folder (its config.yaml, the overlays, results/; only read):

    python benchmarks/adaptation_sweep.py --out /tmp/adapt-sweep \
        --configfile config/seeds.yaml config/adaptation.yaml \
        --weights output_affine all --sigma0 0.05 0.6 --spread-floor 2.0 none \
        --generations 200 --seeds 0

Each (start, spread floor, weights, sigma0, seed) run is the adapt rule's
(:func:`kinetigen.es.adaptation.adapt_generator`) with ``training.adaptation.weights``,
``sigma0``, ``spread_floor``, ``models_per_member`` (``--models-per-member``; unset options
keep the config's) and ``max_generations`` replaced, started from
``results/training/<from_method>/seed<seed>/generator.pt``, on the first environment of
``training.adaptation.environments``. Its history goes to
``<out>/<start>_<weights>_sigma<sigma0>[_floor<floor>]_seed<seed>.csv`` and its reading beside
the run's from-scratch history
(``results/training/per-environment/<env>/seed<seed>/history.csv``, which must carry the
monitor: run the adaptation target first), with the last generation's ``final_spread``, to
``<out>/sweep.csv``, one row per run and target (``--targets``, default 0.9 and 0.8), printed
as a markdown table at the end.

``--start random`` is the control: the same search from the trained generator's architecture
and encoder with freshly drawn weights (the seed's ``generator-init`` draw), so that what the
trained start contributes is told apart from what the subspace contributes.
"""

from __future__ import annotations

import argparse
import copy
import logging
import tempfile
from pathlib import Path

import pandas as pd
import torch
import yaml
from snakemake.utils import update_config

from kinetigen.config import validate_config
from kinetigen.es.adaptation import adapt_generator, evaluations_to_targets
from kinetigen.es.kinetic import TrainingInputs
from kinetigen.generator import flatten_parameters, load_generator, save_generator
from kinetigen.io import read_csv, write_csv
from kinetigen.seeds import derive_seed


def read_config(run: Path, overlays: list[str]) -> dict:
    """config.yaml of ``run`` updated by each overlay in turn, as Snakemake merges them."""
    config = yaml.safe_load((run / "config.yaml").read_text())
    for overlay in overlays:
        update_config(config, yaml.safe_load((run / overlay).read_text()))
    return config


def sweep_run(
    config: dict,
    inputs: TrainingInputs,
    results: Path,
    run: dict,
    generations: int,
) -> pd.DataFrame:
    """One adaptation run's history (``run``: its start, weights, sigma0 and seed) for
    ``generations`` generations."""
    config = copy.deepcopy(config)
    adaptation = config["training"]["adaptation"]
    adaptation.update(weights=run["weights"], sigma0=run["sigma0"], max_generations=generations)
    adaptation["models_per_member"] = run["models_per_member"]
    adaptation["spread_floor"] = run["spread_floor"]
    seed = run["seed"]
    start = results / "training" / adaptation.get("from_method", "trnes") / f"seed{seed}"
    settings = validate_config(config)
    environment = settings["training"]["adaptation"]["environments"][0]
    with tempfile.TemporaryDirectory() as folder:
        path = start / "generator.pt"
        if run["start"] == "random":
            generator, encoder, metadata = load_generator(path)
            generator.reset_parameters(derive_seed(seed, "generator-init"))
            path = Path(folder) / "generator.pt"
            save_generator(path, generator, flatten_parameters(generator), encoder, metadata)
        adapted = adapt_generator(inputs, settings, path, environment, seed)
    return adapted.result.history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("."))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--sigma0", type=float, nargs="+", default=[0.01, 0.05, 0.1])
    parser.add_argument("--weights", nargs="+", default=["all"])
    parser.add_argument("--start", nargs="+", choices=["trained", "random"], default=["trained"])
    parser.add_argument("--models-per-member", type=int, default=None, help="default: config's")
    parser.add_argument(
        "--spread-floor", nargs="+", default=None, help="numbers or 'none'; default: the config's"
    )
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--targets", type=float, nargs="+", default=[0.9, 0.8])
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    config = read_config(args.run, args.configfile)
    results = args.run / "results"
    settings = validate_config(copy.deepcopy(config))
    inputs = TrainingInputs.from_results(results, config, list(settings["environments"]))
    adaptation = settings["training"]["adaptation"]
    environment = adaptation["environments"][0]
    floors = [adaptation["spread_floor"]]
    if args.spread_floor is not None:
        floors = [None if value == "none" else float(value) for value in args.spread_floor]
    models = adaptation["models_per_member"]
    if args.models_per_member is not None:
        models = args.models_per_member
    rows = []
    runs = [
        {
            "start": start,
            "weights": weights,
            "sigma0": sigma0,
            "seed": seed,
            "models_per_member": models,
            "spread_floor": floor,
        }
        for start in args.start
        for floor in floors
        for weights in args.weights
        for sigma0 in args.sigma0
        for seed in args.seeds
    ]
    for run in runs:
        seed = run["seed"]
        history = sweep_run(config, inputs, results, run, args.generations)
        floor = "" if run["spread_floor"] is None else f"_floor{run['spread_floor']:g}"
        name = f"{run['start']}_{run['weights']}_sigma{run['sigma0']:g}{floor}_seed{seed}.csv"
        write_csv(history, args.out / name)
        scratch_path = results / "training" / "per-environment" / environment / f"seed{seed}"
        scratch = read_csv(scratch_path / "history.csv")
        spread = history.get(f"monitor_spread:{environment}")
        final_spread = None if spread is None else float(spread.iloc[-1])
        for reading in evaluations_to_targets(history, scratch, environment, args.targets):
            rows.append({**run, **reading, "final_spread": final_spread})
        write_csv(pd.DataFrame(rows), args.out / "sweep.csv")  # each run as it ends
        print(pd.DataFrame(rows).tail(len(args.targets)).to_string(index=False), flush=True)
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
