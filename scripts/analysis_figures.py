"""Snakemake script: the control-analysis figures from results/analysis/."""

from kinetigen.logs import setup_logging
from kinetigen.plots.analysis import make_analysis_figures

smk = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(smk.log[0])
make_analysis_figures(
    {key: list(value) for key, value in smk.input.items()},
    dict(smk.output.items()),
    smk.params.top_enzymes,
)
