"""Snakemake script: TFA, reference directionality and variability for one environment."""

from pathlib import Path

import pandas as pd

from kinetigen.io import write_csv, write_json
from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.sampling import InfeasibleTFA, run_tfa
from kinetigen.thermo import ReactionEnergies

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
env = smk.wildcards.env
try:
    summary, variability = run_tfa(
        load_network(params.model, solver=params.solver),
        ReactionEnergies.load(Path(smk.input.energies).parent),
        params.physiology,
        params.tfa,
        params.environment,
        env,
        params.biomass_reaction,
        z_score=params.z_score,
        sampling=params.sampling,
    )
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
