"""Snakemake script: an adaptation run beside the from-scratch run (rule adaptation_summary)."""

from kinetigen.es.adaptation import adaptation_summary
from kinetigen.io import read_csv, write_json
from kinetigen.logs import setup_logging

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
summary = adaptation_summary(
    read_csv(smk.input.history),
    read_csv(smk.input.scratch),
    smk.wildcards.env,
    smk.params.target,
    run=smk.params.run,
    also_at=smk.params.also_at,
)
write_json(summary, smk.output.summary)
log.info("%s", summary)
