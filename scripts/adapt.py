"""Snakemake script: fine-tune a trained generator to a new environment (rule adapt)."""

from pathlib import Path

import torch

from kinetigen.es.adaptation import adapt_generator
from kinetigen.es.kinetic import TrainingInputs
from kinetigen.io import write_csv
from kinetigen.logs import setup_logging

smk = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(smk.log[0])
torch.set_num_threads(1)  # tiny tensors; the Jacobians' eigenvalues use smk.threads
Path(smk.params.checkpoint).parent.mkdir(parents=True, exist_ok=True)
adapted = adapt_generator(
    TrainingInputs.from_rule(smk),
    smk.params.config,
    smk.input.generator,
    environment=smk.wildcards.env,
    seed=int(smk.wildcards.seed),
    checkpoint_path=smk.params.checkpoint,
    threads=smk.threads,
)
write_csv(adapted.result.history, smk.output.history)
adapted.save(smk.output.generator)
