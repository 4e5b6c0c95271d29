"""Snakemake script: export a few ORACLE-valid models of one environment as SBML."""

from kinetigen.io import read_csv, read_parquet
from kinetigen.kinetics import build_kinetic_model, export_oracle_models
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
paths = export_oracle_models(
    model,
    read_csv(smk.input.oracle),
    smk.output.folder,
    derive_seed(params.seed, "oracle", env),  # the ORACLE rule's seed: same Km draws
)
log.info("%s: wrote %s", env, ", ".join(str(p) for p in paths))
