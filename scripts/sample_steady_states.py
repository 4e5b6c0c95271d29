"""Snakemake script: sample thermodynamically feasible steady states of one environment."""

import json
from pathlib import Path

from kinetigen.io import write_parquet
from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.sampling import check_steady_states, sample_steady_states
from kinetigen.seeds import derive_seed
from kinetigen.thermo import ReactionEnergies

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
model = load_network(params.model, solver=params.solver)
energies = ReactionEnergies.load(Path(smk.input.energies).parent)
summary = json.loads(Path(smk.input.summary).read_text())
common = dict(
    model=model,
    energies=energies,
    physiology=params.physiology,
    sampling=params.sampling,
    environment=params.environment,
    env_name=env,
    biomass_reaction=params.biomass_reaction,
    z_score=params.z_score,
)
samples = sample_steady_states(
    **common,
    tfa=params.tfa,
    directionality=summary["directionality"],
    seed=derive_seed(params.seed, "sampling", env),
    min_growth=summary["min_growth"],
)
# Every sample must be a feasible steady state before anything downstream uses it.
check_steady_states(samples, **common, min_growth=summary["min_growth"])
log.info("%s: %d steady states sampled and checked", env, len(samples))
write_parquet(samples, smk.output.samples)
