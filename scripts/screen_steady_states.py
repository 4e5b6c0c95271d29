"""Snakemake script: the slow-pool screen of one environment's sampled steady states."""

from kinetigen.io import read_parquet, write_csv, write_parquet
from kinetigen.kinetics import build_kinetic_model
from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.kinetics.turnover import screen_steady_states
from kinetigen.logs import setup_logging
from kinetigen.network import load_network

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
samples = read_parquet(smk.input.samples)
network = load_network(params.model, solver=params.solver)
model = build_kinetic_model(network, samples, KineticsSettings.from_config(params.config), env)
kept, table = screen_steady_states(samples, model, params.min_factor)
write_csv(table, smk.output.table, index=True)
write_parquet(kept, smk.output.samples)
