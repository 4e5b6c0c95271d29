"""Snakemake script: incidence of a trained generator on a fresh latent batch."""

import torch

from kinetigen.es.kinetic import TrainingInputs, evaluate_saved
from kinetigen.io import write_csv
from kinetigen.logs import setup_logging
from kinetigen.seeds import derive_seed
from kinetigen.settings import WorkflowSettings

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
torch.set_num_threads(1)  # tiny tensors; the Jacobians' eigenvalues use smk.threads
params = smk.params
incidence = evaluate_saved(
    TrainingInputs.from_rule(smk),
    WorkflowSettings.from_config(params.config),
    smk.input.generator,
    heldout_names=params.heldout,
    n_models=params.n_models,
    seed=derive_seed(params.seed, smk.wildcards.run),
    threads=smk.threads,
)
write_csv(incidence, smk.output.incidence)
log.info("\n%s", incidence.to_string(index=False))
