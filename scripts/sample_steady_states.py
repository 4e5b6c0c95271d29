"""Snakemake script: sample thermodynamically feasible steady states of one environment."""

from pathlib import Path

from kinetigen.io import read_json, write_parquet
from kinetigen.logs import setup_logging
from kinetigen.sampling import ThermoEnvironment, check_steady_states, sample_steady_states
from kinetigen.seeds import derive_seed
from kinetigen.settings import PhysiologySettings, SamplingSettings, TFASettings

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
summary = read_json(smk.input.summary)
environment = ThermoEnvironment.from_files(
    Path(smk.input.energies).parent,
    env,
    model=params.model,
    solver=params.solver,
    physiology=PhysiologySettings.from_section(params.physiology),
    environment=params.environment,
    biomass_reaction=params.biomass_reaction,
    z_score=params.z_score,
)
sampling = SamplingSettings.from_section(params.sampling)
samples = sample_steady_states(
    environment,
    TFASettings.from_section(params.tfa),
    sampling,
    directionality=summary["directionality"],
    seed=derive_seed(params.seed, "sampling", env),
    min_growth=summary["min_growth"],
)
# Every sample must be a feasible steady state before anything downstream uses it.
check_steady_states(samples, environment, sampling, min_growth=summary["min_growth"])
log.info("%s: %d steady states sampled and checked", env, len(samples))
write_parquet(samples, smk.output.samples)
