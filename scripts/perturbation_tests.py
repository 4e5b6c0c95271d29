"""Snakemake script: nonlinear perturbation tests of one environment's models."""

import pandas as pd

from kinetigen.io import read_csv, read_parquet, write_csv, write_json, write_parquet
from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.seeds import derive_seed
from kinetigen.settings import ValidationSettings
from kinetigen.validation.stage import (
    perturbation_validation,
    tested_parameters,
    validation_models,
)

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
kinetics = KineticsSettings.from_config(params.config)
# One worker process per thread Snakemake gives the job (validation.processes, scaled to --cores).
settings = ValidationSettings.from_config(params.config).replace(processes=smk.threads)
model, model_sets = validation_models(
    load_network(params.model, solver=params.solver),
    read_parquet(smk.input.samples),
    read_csv(smk.input.parameters),
    read_csv(smk.input.oracle),
    kinetics,
    smk.input.generator,
    env,
    n_generated=settings.n_generated,
    n_control=settings.n_control,
    seed=derive_seed(params.seed, "validation", env),
    oracle_seed=derive_seed(params.seed, "oracle", env),  # the ORACLE rule's seed
)
table, trajectories, summary = perturbation_validation(
    model, model_sets, settings, derive_seed(params.seed, "perturbation", env)
)
write_csv(pd.concat([s.table() for s in model_sets]), smk.output.models)
write_parquet(tested_parameters(model, model_sets), smk.output.parameters)
write_csv(table, smk.output.table)
write_csv(trajectories, smk.output.trajectories)
write_json(summary, smk.output.summary)
log.info("%s: fraction returned\n%s", env, pd.DataFrame(summary["return"]).to_string())
