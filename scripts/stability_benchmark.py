"""Snakemake script: aggregate the stability benchmark runs."""

import pandas as pd

from kinetigen.es.training import stability_runs, summarise_stability
from kinetigen.io import write_csv
from kinetigen.logs import setup_logging

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
histories = {
    (method, int(seed)): pd.read_csv(path)
    for (method, seed), path in zip(smk.params.runs, smk.input.histories, strict=True)
}
write_csv(stability_runs(histories, smk.params.target), smk.output.runs)
summary = summarise_stability(histories, smk.params.target)
write_csv(summary, smk.output.summary)
log.info("\n%s", summary.to_string(index=False))
