"""Valid models per CPU-second: trained generator vs ORACLE rejection sampling, one run.

Run after the workflow has trained a generator (``make run``):

    python benchmarks/generator_vs_oracle.py [results] [--models 2000]

For every environment, both methods produce ``--models`` parameter sets on the same steady
states (the evaluation steady states of ``kinetics.split``, which the generator never trained
on) and are timed with process CPU time in the same process, one after the other: the
generator's forward pass + lambda_max, and ORACLE's uniform saturations + lambda_max. Prints
incidence, valid models per CPU-second and their ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from kinetigen.config import validate_config
from kinetigen.generator import load_generator
from kinetigen.io import read_parquet
from kinetigen.kinetics import BatchedJacobian, ParameterSpace, build_kinetic_model
from kinetigen.network import load_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--generator", default="training/trnes/seed0/generator.pt")
    parser.add_argument("--models", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = validate_config(yaml.safe_load(Path(args.config).read_text()))
    cobra_model = load_network(config["model"], solver=config["solver"])
    space = ParameterSpace(pd.read_csv(args.results / "kinetic" / "parameters.csv"))
    generator, encoder, metadata = load_generator(args.results / args.generator)
    rng = np.random.default_rng(0)
    rows = []
    for env in config["environments"]:
        folder = args.results / "envs" / env
        samples = read_parquet(folder / "kinetic_steady_states.parquet")
        model = build_kinetic_model(cobra_model, samples, config, env)
        jacobian = BatchedJacobian(model, shared_index=space.index_of(model))
        positions = model.split.evaluation
        chosen = np.asarray(positions)[np.arange(args.models) % len(positions)]
        threshold = torch.as_tensor(model.threshold[chosen])
        conditions = None if encoder is None else encoder.transform_tensor(samples.iloc[chosen])

        start = time.process_time()
        with torch.no_grad():
            ln_x = None
            if generator.needs_concentrations:
                ln_x = torch.as_tensor(space.ln_concentration(model, chosen.tolist()))
            rng_torch = torch.Generator().manual_seed(1)
            ln_km = generator.sample(args.models, conditions, rng_torch, ln_x)
            generated_valid = int((jacobian.lambda_max(ln_km, chosen) < threshold).sum())
        generator_seconds = time.process_time() - start

        start = time.process_time()
        saturation = rng.uniform(1e-6, 1 - 1e-6, size=(args.models, len(model.parameters)))
        own = torch.as_tensor(model.ln_km_from_saturation(saturation, chosen))
        oracle_valid = int((BatchedJacobian(model).lambda_max(own, chosen) < threshold).sum())
        oracle_seconds = time.process_time() - start

        generator_rate = generated_valid / generator_seconds
        oracle_rate = oracle_valid / oracle_seconds
        rows.append(
            {
                "env": env,
                "split": "train" if env in metadata["train_environments"] else "heldout",
                "generator_incidence": generated_valid / args.models,
                "oracle_incidence": oracle_valid / args.models,
                "generator_valid_per_cpu_s": round(generator_rate, 1),
                "oracle_valid_per_cpu_s": round(oracle_rate, 1),
                "ratio": round(generator_rate / oracle_rate, 2) if oracle_rate else np.inf,
            }
        )
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
