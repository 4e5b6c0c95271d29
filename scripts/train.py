"""Snakemake script: train one generator (rules train and train_per_environment)."""

from pathlib import Path

import torch

from kinetigen.es.kinetic import TrainingInputs, train_generator
from kinetigen.io import write_csv
from kinetigen.logs import setup_logging
from kinetigen.methods import DEFAULT_METHOD
from kinetigen.settings import WorkflowSettings

smk = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(smk.log[0])
torch.set_num_threads(1)  # tiny tensors; the Jacobians' eigenvalues use smk.threads
params = smk.params
Path(params.checkpoint).parent.mkdir(parents=True, exist_ok=True)
trained = train_generator(
    TrainingInputs.from_rule(smk),
    WorkflowSettings.from_config(params.config),
    method=smk.wildcards.get("method", DEFAULT_METHOD),
    seed=int(smk.wildcards.seed),
    mode=params.mode,
    train_names=params.train_environments,
    checkpoint_path=params.checkpoint,
    max_model_evaluations=params.get("max_model_evaluations"),
    monitor_models=params.get("monitor_models"),
    threads=smk.threads,
)
write_csv(trained.result.history, smk.output.history)
if "generator" in smk.output.keys():  # benchmark runs keep only their history
    trained.save(smk.output.generator)
