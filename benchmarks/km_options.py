"""Km options of issue 13 compared: one generator per option, scored on the unseen steady states.

Run in a finished run's folder (its config.yaml and results/; only read):

    python benchmarks/km_options.py --out /tmp/km-options --processes 2 [--generations 200]
        [--options ln_km saturation_05] [--seed 0]

Each option is a config overlay (:data:`OPTIONS`) trained with the trust-region NES on the
default training environments (their attainable training steady states), one seed
(``--seed``, default 0) and ``--generations`` generations (default: the config's). ``default``
reuses the run's own generator (``results/training/trnes/seed<seed>/generator.pt``) when the
generations are the config's. Then per option and training environment, on the unseen
evaluation steady states (``kinetics.split``): incidence of ``--models`` fresh models; of the
valid ones, the fraction of saturations x/(x+Km) in [0.05, 0.95] against the ORACLE-valid
models of the run's ORACLE table (uniform saturations, the same steady states); the fraction of
Km within 5 % (of the ln range) of a bound of ``kinetics.km_bounds_M`` (and of the generator's
own output interval, per steady state for ``generator.output_space: saturation``); and the
median over parameters of the IQR of ln Km against ORACLE-valid's.
Reference rows ``oracle_prior``: ORACLE drawing its Km from the prior (``kinetics.km_prior``)
on the same steady states, scored the same way. Writes ``<out>/<option>.csv`` and
``<out>/km_options.csv`` (each option's file as soon as it is scored) and prints a
markdown table.
"""

from __future__ import annotations

import argparse
import copy
import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from snakemake.utils import update_config

from kinetigen.config import validate_config
from kinetigen.es.kinetic import TrainingInputs, train_generator
from kinetigen.generator import load_generator, save_generator
from kinetigen.io import read_csv, write_csv
from kinetigen.kinetics import ParameterSpace, build_kinetic_model, oracle_sampling
from kinetigen.kinetics.screening import oracle_parameter_sets
from kinetigen.seeds import derive_seed
from kinetigen.validation.ensembles import generated_models, oracle_models

PRIOR = {"kind": "lognormal", "median_M": 1.0e-4, "log10_sd": 1.0}
REGULARISER = {"weight": 0.5, "kind": "saturation"}
# The options before issue 13's default: ln Km mapped into the bounds (``ln_km``), with a
# saturation regulariser or the prior's output range.
LN_KM = {"output_space": "ln_km"}
OPTIONS: dict[str, dict[str, Any]] = {
    "default": {},  # generator.output_space saturation, saturation_range [0.02, 0.98]
    "ln_km": {"generator": LN_KM},
    "regulariser": {"generator": LN_KM, "training": {"km_regulariser": REGULARISER}},
    "prior_range": {
        "kinetics": {"km_prior": PRIOR},
        "generator": {**LN_KM, "output_range": "prior"},
    },
    "regulariser_w2": {
        "generator": LN_KM,
        "training": {"km_regulariser": {**REGULARISER, "weight": 2.0}},
    },
    "prior_range+regulariser": {
        "kinetics": {"km_prior": PRIOR},
        "generator": {**LN_KM, "output_range": "prior"},
        "training": {"km_regulariser": REGULARISER},
    },
    # Saturation space at other widths (the default is [0.02, 0.98]).
    "saturation_01": {"generator": {"saturation_range": [0.01, 0.99]}},
    "saturation_05": {"generator": {"saturation_range": [0.05, 0.95]}},
    "saturation+regulariser": {"training": {"km_regulariser": REGULARISER}},
}
SATURATION_RANGE = (0.05, 0.95)
NEAR_BOUND = 0.05  # of the ln range
SECTIONS = ("physiology", "biomass_reaction", "kinetics", "generator", "training")


def run_config(base: dict, option: str, generations: int | None) -> dict:
    """The run's config with ``option``'s overlay (and the generations), validated."""
    config = copy.deepcopy(base)
    update_config(config, copy.deepcopy(OPTIONS[option]))
    if generations is not None:
        config["training"]["max_generations"] = generations
    return validate_config(config)


def train_option(task: tuple) -> str:
    """Train (or reuse) option ``task[1]``'s generator; returns its file."""
    base, option, results, out, seed, generations = task
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    path = out / f"{option}.pt"
    config = run_config(base, option, generations)
    own = results / "training" / "trnes" / f"seed{seed}" / "generator.pt"
    if option == "default" and generations in (None, base["training"]["max_generations"]):
        if own.exists():
            return str(own)
    heldout = config["training"]["heldout"]
    trained = train_generator(
        TrainingInputs.from_results(results, config, list(config["environments"])),
        {key: config[key] for key in SECTIONS},
        method="trnes",
        seed=seed,
        mode=config["training"]["mode"],
        train_names=[e for e in config["environments"] if e not in heldout],
    )
    save_generator(
        path, trained.generator, trained.result.weights, trained.encoder, trained.metadata
    )
    return str(path)


def _in_range(saturation: np.ndarray) -> float:
    low, high = SATURATION_RANGE
    return float(((saturation >= low) & (saturation <= high)).mean())


def _median_iqr(ln_km: np.ndarray) -> float:
    q75, q25 = np.percentile(ln_km, [75, 25], axis=0)
    return float(np.median(q75 - q25))


def _near(ln_km: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    margin = NEAR_BOUND * (upper - lower)
    return float(((ln_km <= lower + margin) | (ln_km >= upper - margin)).mean())


def oracle_valid(config: dict, model: Any, env: str, n_models: int, results: Path) -> Any:
    """The first ``n_models`` ORACLE-valid models of the run's ORACLE table, regenerated."""
    kinetics = config["kinetics"]
    return oracle_models(
        model,
        read_csv(results / "envs" / env / "oracle.csv"),
        "oracle",
        n_models,
        derive_seed(config["seed"], "oracle", env),
        kinetics["oracle"]["batch_size"],
        kinetics["oracle"]["n_parameter_sets"],
    )


def score_environment(
    inputs: TrainingInputs, generator_path: str, model: Any, oracle: Any, n_models: int
) -> dict[str, Any]:
    """One row: the option's generator against ORACLE-valid on the model's unseen steady
    states."""
    generator, encoder, _ = load_generator(generator_path)
    env = model.environment
    space = ParameterSpace(inputs.parameters)
    index = space.index_of(model)
    positions = list(model.split.evaluation)
    drawn = generated_models(
        generator, encoder, model, inputs.samples[env], space, positions, n_models, 1, False
    )
    valid = drawn.lambda_max < drawn.threshold
    ln_km = drawn.ln_km[valid]
    saturation = model.saturation_from_ln_km(ln_km, drawn.positions[valid])
    row = {"env": env, "incidence_unseen": float(valid.mean()), "n_valid": int(valid.sum())}
    row |= compared(model, ln_km, saturation, oracle, (space.lower[index], space.upper[index]))
    # The generator's own output interval per model (per steady state in saturation space).
    ln_x = torch.as_tensor(space.ln_concentration(model, drawn.positions[valid].tolist()))
    lower, upper = (bound.expand(ln_x.shape).numpy() for bound in generator.output_bounds(ln_x))
    row["near_output_bounds"] = _near(ln_km, lower[:, index], upper[:, index])
    return row


def compared(
    model: Any,
    ln_km: np.ndarray,
    saturation: np.ndarray,
    oracle: Any,
    bounds: tuple[np.ndarray, np.ndarray],
) -> dict[str, float]:
    """The done-when numbers of valid models (ln Km, saturations) against ORACLE-valid."""
    oracle_saturation = model.saturation_from_ln_km(oracle.ln_km, oracle.positions)
    generated_iqr, oracle_iqr = _median_iqr(ln_km), _median_iqr(oracle.ln_km)
    return {
        "in_range_generated": _in_range(saturation),
        "in_range_oracle": _in_range(oracle_saturation),
        "in_range_ratio": _in_range(saturation) / _in_range(oracle_saturation),
        "near_km_bounds": _near(ln_km, *bounds),
        "median_iqr_ln_km_generated": generated_iqr,
        "median_iqr_ln_km_oracle": oracle_iqr,
        "iqr_ratio": generated_iqr / oracle_iqr,
        "median_saturation_generated": float(np.median(saturation)),
    }


def oracle_prior_row(
    config: dict, inputs: TrainingInputs, env: str, oracle: Any, n_models: int
) -> dict[str, Any]:
    """ORACLE with Km from the prior on ``env``'s unseen steady states, against ``oracle``
    (ORACLE-valid with uniform saturations)."""
    prior_config = run_config(config, "prior_range", None)
    model = build_kinetic_model(inputs.cobra_model, inputs.samples[env], prior_config, env)
    seed = derive_seed(config["seed"], "oracle-prior", env)
    frame, summary = oracle_sampling(model, n_models, 1000, seed)
    valid = np.flatnonzero(frame["valid"].to_numpy(bool))
    positions, ln_km = oracle_parameter_sets(model, valid, seed, 1000, n_models)
    saturation = model.saturation_from_ln_km(ln_km, positions)
    space = ParameterSpace(inputs.parameters)
    index = space.index_of(model)
    row = {"env": env, "incidence_unseen": summary["incidence"], "n_valid": len(valid)}
    return row | compared(
        model, ln_km, saturation, oracle, (space.lower[index], space.upper[index])
    )


def score_option(task: tuple) -> pd.DataFrame:
    """Rows of one option (``generator_path`` None: the ``oracle_prior`` reference)."""
    base, option, results, generator_path, n_models = task
    torch.set_num_threads(1)
    config = validate_config(copy.deepcopy(base))
    inputs = TrainingInputs.from_results(results, config, list(config["environments"]))
    heldout = config["training"]["heldout"]
    rows = []
    for env in [e for e in config["environments"] if e not in heldout]:
        model = build_kinetic_model(inputs.cobra_model, inputs.samples[env], config, env)
        oracle = oracle_valid(config, model, env, n_models, results)
        if generator_path is None:
            rows.append(oracle_prior_row(config, inputs, env, oracle, n_models))
        else:
            rows.append(score_environment(inputs, generator_path, model, oracle, n_models))
    frame = pd.DataFrame(rows)
    frame.insert(0, "option", option)
    return frame


def markdown(table: pd.DataFrame) -> str:
    """Per option: worst environment of each done-when number (and the range)."""
    lines = [
        "| option | incidence, unseen (min-max) | in [0.05, 0.95], generated / ORACLE-valid "
        "(min-max) | Km within 5 % of a bound (max) | median IQR ln Km / ORACLE-valid (min) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for option, rows in table.groupby("option", sort=False):
        lines.append(
            f"| {option} | {rows.incidence_unseen.min():.3f}-{rows.incidence_unseen.max():.3f} "
            f"| {rows.in_range_ratio.min():.2f}-{rows.in_range_ratio.max():.2f} "
            f"| {rows.near_km_bounds.max():.3f} | {rows.iqr_ratio.min():.2f} |"
        )
    return "\n".join(lines)


def train_and_score(task: tuple) -> pd.DataFrame:
    """One option's rows: train (or reuse) its generator, then score it (``oracle_prior``: the
    ORACLE reference, nothing trained)."""
    base, option, results, out, seed, generations, n_models = task
    path = None
    if option != "oracle_prior":
        path = train_option((base, option, results, out, seed, generations))
    return score_option((base, option, results, path, n_models))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml", type=Path)
    parser.add_argument("--results", default="results", type=Path)
    parser.add_argument("--out", default="/tmp/km-options", type=Path)
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = validate_config(yaml.safe_load(args.config.read_text()))
    tasks = [
        (base, option, args.results, args.out, args.seed, args.generations, args.models)
        for option in [*args.options, "oracle_prior"]
    ]
    tables = []
    with ProcessPoolExecutor(args.processes) as pool:
        # The cheap ORACLE reference and the reused default first; each option's table is
        # written as soon as it is scored.
        for table in pool.map(train_and_score, [tasks[-1], *tasks[:-1]]):
            write_csv(table, args.out / f"{table['option'].iloc[0]}.csv")
            print(markdown(table), flush=True)
            tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    write_csv(table, args.out / "km_options.csv")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    print(markdown(table))


if __name__ == "__main__":
    main()
