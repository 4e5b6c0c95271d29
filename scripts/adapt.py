"""Snakemake script: fine-tune a trained generator to a new environment (rule adapt)."""

from pathlib import Path

import torch

from kinetigen.es.adaptation import adapt_generator
from kinetigen.es.kinetic import TrainingInputs
from kinetigen.generator import save_generator
from kinetigen.io import write_csv
from kinetigen.logs import setup_logging
from kinetigen.network import load_network

smk = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(smk.log[0])
torch.set_num_threads(1)  # tiny tensors; the Jacobians' eigenvalues use smk.threads
params = smk.params
Path(params.checkpoint).parent.mkdir(parents=True, exist_ok=True)
network = load_network(params.model, solver=params.solver)
tables = smk.input.samples, smk.input.parameters, smk.input.attainability
adapted = adapt_generator(
    TrainingInputs.read(network, params.environments, *tables),
    params.config,
    smk.input.generator,
    environment=smk.wildcards.env,
    seed=int(smk.wildcards.seed),
    checkpoint_path=params.checkpoint,
    threads=smk.threads,
)
write_csv(adapted.result.history, smk.output.history)
save_generator(
    smk.output.generator,
    adapted.generator,
    adapted.result.weights,
    adapted.encoder,
    adapted.metadata,
)
