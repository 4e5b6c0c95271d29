"""Snakemake script: the Km parameter space shared by all environments."""

from kinetigen.io import read_parquet, write_csv
from kinetigen.kinetics import kinetic_parameters
from kinetigen.kinetics.settings import KineticsSettings
from kinetigen.logs import setup_logging
from kinetigen.network import load_networks

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
settings = KineticsSettings.from_config(params.config)
model = load_networks(params.model, solver=params.solver)
samples = {
    env: read_parquet(path)
    for env, path in zip(params.environments, smk.input.samples, strict=True)
}
parameters = kinetic_parameters(model, samples, settings)
write_csv(parameters, smk.output.parameters)
log.info("%d Km parameters over %d environments", len(parameters), len(samples))
