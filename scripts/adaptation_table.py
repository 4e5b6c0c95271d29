"""Snakemake script: one environment's adaptation summaries over seeds (rule adaptation_table)."""

from kinetigen.es.adaptation import adaptation_seed_table
from kinetigen.io import read_json, write_csv
from kinetigen.logs import setup_logging

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
table = adaptation_seed_table([read_json(path) for path in smk.input.summaries])
write_csv(table, smk.output.table)
log.info("\n%s", table.to_string(index=False))
