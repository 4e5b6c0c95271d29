"""Snakemake script: sample thermodynamically feasible steady states of one environment."""

import json
from pathlib import Path

from kinetigen.io import write_parquet
from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.sampling import sample_steady_states
from kinetigen.seeds import derive_seed
from kinetigen.thermo import ReactionEnergies

smk = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
model = load_network(params.model, solver=params.solver)
energies = ReactionEnergies.load(Path(smk.input.energies).parent)
summary = json.loads(Path(smk.input.summary).read_text())
samples = sample_steady_states(
    model,
    energies,
    params.physiology,
    params.tfa,
    params.sampling,
    params.environment,
    env,
    params.biomass_reaction,
    summary["directionality"],
    derive_seed(params.seed, "sampling", env),
)
write_parquet(samples, smk.output.samples)
