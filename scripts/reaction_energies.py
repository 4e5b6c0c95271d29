"""Snakemake script: dG'0 of every reaction with eQuilibrator."""

import time
from pathlib import Path

from kinetigen.logs import setup_logging
from kinetigen.network import load_network
from kinetigen.thermo import reaction_energies

smk = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_logging(smk.log[0])
params = smk.params
model = load_network(params.model, solver=params.solver)
started = time.perf_counter()
energies = reaction_energies(model, params.physiology, params.thermo, params.biomass_reaction)
energies.save(Path(smk.output.table).parent)  # coverage by reason: results/thermo/coverage.json
table = energies.table
log.info(
    "%d reactions constrained, %d left free; %d metabolites unmapped; %.1f s",
    table["constrained"].sum(),
    (~table["constrained"]).sum(),
    len(energies.unmapped),
    time.perf_counter() - started,
)
