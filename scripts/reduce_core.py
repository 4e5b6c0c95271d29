"""Snakemake script: the kinetic core reduced in one environment (kinetigen.core)."""

from kinetigen.core.stage import reduce_environment
from kinetigen.logs import setup_logging
from kinetigen.network import load_network

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
reduce_environment(
    load_network(params.model, solver=params.solver),
    params.config,
    smk.wildcards.env,
    params.environment,
    smk.output.model,
    smk.output.core,
)
