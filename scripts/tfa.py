"""Snakemake script: TFA, reference directionality and variability for one environment."""

from pathlib import Path

import pandas as pd

from kinetigen.io import write_csv, write_json
from kinetigen.logs import setup_logging
from kinetigen.sampling import InfeasibleTFA, ThermoEnvironment, run_tfa
from kinetigen.sampling.variability import VARIABILITY_COLUMNS
from kinetigen.settings import PhysiologySettings, SamplingSettings, TFASettings

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
# Not a declared output (Snakemake keeps it when the job fails): a report from an earlier,
# failed run must not outlive the config that caused it.
report = Path(smk.output.summary).parent / "relaxation_report.csv"
report.unlink(missing_ok=True)
try:
    environment = ThermoEnvironment.from_files(
        Path(smk.input.energies).parent,
        env,
        model=params.model,
        solver=params.solver,
        physiology=PhysiologySettings.from_section(params.physiology),
        environment=params.environment,
        biomass_reaction=params.biomass_reaction,
        z_score=params.z_score,
    )
    summary, variability = run_tfa(
        environment,
        TFASettings.from_section(params.tfa),
        sampling=SamplingSettings.from_section(params.sampling),  # the margins only
    )
except InfeasibleTFA as error:
    write_csv(error.report, report)
    log.error("%s; smallest relaxation written to %s", error, report)
    raise
write_json(summary, smk.output.summary)
if variability is None:  # switched off in config: an empty table keeps the DAG intact
    variability = pd.DataFrame(columns=VARIABILITY_COLUMNS)
write_csv(variability, smk.output.variability)
