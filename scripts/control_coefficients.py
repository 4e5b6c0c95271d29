"""Snakemake script: control coefficients of one environment's generated and ORACLE-valid
models, with the theorem and finite-difference checks."""

from kinetigen.analysis.stage import control_analysis, load_stage_models
from kinetigen.io import write_csv, write_json, write_parquet
from kinetigen.logs import setup_logging
from kinetigen.seeds import derive_seed
from kinetigen.settings import AnalysisSettings

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
settings = AnalysisSettings.from_config(params.config)
network, samples, model, model_sets = load_stage_models(
    dict(smk.input.items()), params.config, params.model, params.solver, env,
    settings.n_models, params.seed,
)  # fmt: skip
table, summary, checks = control_analysis(
    model, network, samples, model_sets, settings, derive_seed(params.seed, "control", env)
)
write_parquet(table, smk.output.coefficients)
write_csv(summary, smk.output.summary)
write_json(checks, smk.output.checks)
log.info("%s: %d coefficients written", env, len(table))
