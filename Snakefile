# kinetigen: dynamically valid kinetic models of metabolism.
# Run: snakemake   (profiles/default, a link to workflow/profiles/default, sets the cores)
import os
import sys
from pathlib import Path

# Every job sees one string hash seed: iteration over sets of ids (in cobra and optlang as
# they build solver problems) follows it, and so do the LP solutions at rounding level,
# which the steady-state sampler's chains amplify (same config, same numbers). A seed the
# user exports is kept.
os.environ.setdefault("PYTHONHASHSEED", "0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # works without `pip install -e .` too

from kinetigen.config import validate_config


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


# Types, unknown keys and defaults (JSON Schema), then ids checked against the model:
# bad input fails here, before any job starts.
validate_config(config)


include: "workflow/rules/common.smk"
include: "workflow/rules/thermo.smk"
include: "workflow/rules/core.smk"
include: "workflow/rules/sampling.smk"
include: "workflow/rules/kinetics.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/validation.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        "results/thermo/reaction_energies.csv",
        CORE_OUTPUTS,
        expand("results/envs/{env}/tfa_summary.json", env=ENVIRONMENTS),
        expand("results/envs/{env}/variability.csv", env=ENVIRONMENTS),
        expand("results/envs/{env}/steady_states.parquet", env=ENVIRONMENTS),
        "results/kinetic/parameters.csv",
        expand("results/envs/{env}/attainability.csv", env=ENVIRONMENTS),
        expand("results/envs/{env}/oracle_summary.json", env=ENVIRONMENTS),
        expand("results/envs/{env}/sbml", env=ENVIRONMENTS),
        [f"{run}/incidence.csv" for run in TRAINING_RUNS],
        ADAPTATION_SUMMARIES,
        ADAPTATION_TABLES,
        expand("results/validation/{env}/summary.json", env=ENVIRONMENTS),
        "results/validation/bioreactor/summary.csv",
        expand("results/figures/{name}.png", name=FIGURES),
        expand("results/analysis/{env}/control_checks.json", env=ENVIRONMENTS),
        expand("results/analysis/{env}/perturbation_summary.csv", env=ENVIRONMENTS),
        expand("results/figures/{name}.png", name=ANALYSIS_FIGURES),
    default_target: True
