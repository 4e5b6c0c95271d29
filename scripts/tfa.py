"""Snakemake script: TFA, reference directionality and variability for one environment."""

from pathlib import Path

import pandas as pd

from kinetigen.io import write_csv, write_json
from kinetigen.logs import setup_logging
from kinetigen.sampling import InfeasibleTFA, ThermoEnvironment, run_tfa

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
try:
    environment = ThermoEnvironment.from_rule(params, Path(smk.input.energies).parent, env)
    summary, variability = run_tfa(environment, params.tfa, sampling=params.sampling)
except InfeasibleTFA as error:
    # Not a declared output, so Snakemake keeps it when the job fails.
    report = Path(smk.output.summary).parent / "relaxation_report.csv"
    write_csv(error.report, report)
    log.error("%s; smallest relaxation written to %s", error, report)
    raise
write_json(summary, smk.output.summary)
if variability is None:  # switched off in config: an empty table keeps the DAG intact
    variability = pd.DataFrame(columns=["variable", "kind", "id", "minimum", "maximum"])
write_csv(variability, smk.output.variability)
