"""Snakemake script: batch-culture simulation of generated models."""

from kinetigen.io import read_csv, read_parquet, write_csv
from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.seeds import derive_seed
from kinetigen.settings import BioreactorSettings
from kinetigen.validation.stage import bioreactor_validation, validation_models

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
kinetics = KineticsSettings.from_config(params.config)
settings = BioreactorSettings.from_config(params.config)
env = settings.environment
model, (generated, *_unused) = validation_models(
    load_network(params.model, solver=params.solver),
    read_parquet(smk.input.samples),
    read_csv(smk.input.parameters),
    None,  # no control groups in the bioreactor
    kinetics,
    smk.input.generator,
    env,
    n_generated=settings.n_models,
    n_control=0,
    seed=derive_seed(params.seed, "bioreactor", env),
    oracle_seed=0,
)
courses, summary = bioreactor_validation(model, generated, settings)
write_csv(courses, smk.output.time_courses)
write_csv(summary, smk.output.summary)
log.info(
    "%s: status of %d models: %s", env, len(summary), summary["status"].value_counts().to_dict()
)
