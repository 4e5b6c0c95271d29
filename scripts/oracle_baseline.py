"""Snakemake script: ORACLE rejection sampling for one environment."""

from kinetigen.io import read_csv, read_parquet, write_csv, write_json
from kinetigen.kinetics import build_kinetic_model, oracle_baseline
from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.seeds import derive_seed

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
settings = KineticsSettings.from_config(params.config)
env = smk.wildcards.env
network = load_network(params.model, solver=params.solver)
model = build_kinetic_model(network, read_parquet(smk.input.samples), settings, env)
table, summary = oracle_baseline(
    model,
    derive_seed(params.seed, "oracle", env),
    parameters=read_csv(smk.input.parameters),
)
write_csv(table, smk.output.table)
write_json(summary, smk.output.summary)
log.info("%s: ORACLE incidence %.4f", env, summary["incidence"])
