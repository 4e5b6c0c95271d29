"""Snakemake script: enzyme perturbation studies of one environment's generated and
ORACLE-valid models, simulated to the new steady state."""

from kinetigen.analysis.stage import load_stage_models, perturbation_analysis
from kinetigen.io import write_csv
from kinetigen.logs import setup_logging
from kinetigen.settings import AnalysisSettings

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
settings = AnalysisSettings.from_config(params.config)
# The control rule's seeds: its first models are these.
network, samples, model, model_sets = load_stage_models(
    dict(smk.input.items()), params.config, params.model, params.solver, env,
    settings.perturbation_models, params.seed,
)  # fmt: skip
table, summary = perturbation_analysis(
    model, network, samples, model_sets, settings, processes=smk.threads
)
write_csv(table, smk.output.table)
write_csv(summary, smk.output.summary)
log.info("%s: enzyme perturbations\n%s", env, summary.to_string())
