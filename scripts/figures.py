"""Snakemake script: draw every figure from results/."""

from kinetigen.logs import setup_logging
from kinetigen.plots.make import make_figures

smk = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(smk.log[0])
params = dict(smk.params.items())
make_figures(
    dict(smk.input.items()),
    dict(smk.output.items()),
    params["validation"],
    params.get("adaptation_targets"),  # only when adaptation is configured
    params["km_prior"],
)
