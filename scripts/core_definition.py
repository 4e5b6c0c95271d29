"""Snakemake script: results/kinetic/core.json, the kinetic core of every environment."""

from kinetigen.core.stage import gather_core_documents
from kinetigen.logs import setup_logging

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
gathered = gather_core_documents(
    dict(zip(smk.params.environments, smk.input.documents, strict=True)), smk.output.core
)
log.info(
    "core.json: %d reactions, %d environments",
    len(gathered["reactions"]),
    len(gathered["environments"]),
)
