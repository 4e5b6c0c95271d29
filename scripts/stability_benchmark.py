"""Snakemake script: aggregate the stability benchmark runs."""

import pandas as pd

from kinetigen.es.stability import stability_runs, summarise_stability
from kinetigen.io import read_csv, write_csv
from kinetigen.logs import setup_logging

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
histories = {
    (method, int(seed)): read_csv(path)
    for (method, seed), path in zip(smk.params.runs, smk.input.histories, strict=True)
}
write_csv(stability_runs(histories, smk.params.target), smk.output.runs)
# The full budget, then each run read as stopped at the smaller budgets (e.g. RENAISSANCE's 25
# generations), one block of rows per budget.
budgets = [None, *smk.params.report_at]
summary = pd.concat(
    [
        summarise_stability(histories, smk.params.target, budget).assign(
            budget=budget if budget is not None else smk.params.max_model_evaluations
        )
        for budget in budgets
    ],
    ignore_index=True,
)
write_csv(summary, smk.output.summary)
log.info("\n%s", summary.to_string(index=False))
