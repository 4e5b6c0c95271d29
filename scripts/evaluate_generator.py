"""Snakemake script: incidence of a trained generator on a fresh latent batch."""

import torch

from kinetigen.es.kinetic import evaluate_saved, read_environment_tables
from kinetigen.io import read_csv, write_csv
from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.seeds import derive_seed
from kinetigen.settings import WorkflowSettings

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
torch.set_num_threads(1)  # tiny tensors; the Jacobians' eigenvalues use smk.threads
params = smk.params
samples, attainability = read_environment_tables(
    params.environments, smk.input.samples, smk.input.attainability
)
incidence = evaluate_saved(
    load_network(params.model, solver=params.solver),
    samples,
    read_csv(smk.input.parameters),
    attainability,
    WorkflowSettings.from_config(params.config),
    smk.input.generator,
    heldout_names=params.heldout,
    n_models=params.n_models,
    seed=derive_seed(params.seed, smk.wildcards.run),
    threads=smk.threads,
)
write_csv(incidence, smk.output.incidence)
log.info("\n%s", incidence.to_string(index=False))
