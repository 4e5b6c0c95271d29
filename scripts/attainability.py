"""Snakemake script: attainability screen of one environment."""

from kinetigen.io import read_csv, read_parquet, write_csv
from kinetigen.kinetics import attainability, build_kinetic_model
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
table = attainability(
    model,
    derive_seed(params.seed, "attainability", env),
    parameters=read_csv(smk.input.parameters),
)
write_csv(table, smk.output.table)
log.info(
    "%s: %d of %d screened steady states attainable", env, table["attainable"].sum(), len(table)
)
