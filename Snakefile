# kinetigen: dynamically valid kinetic models of metabolism.
# Run: snakemake --cores all   (the default profile in workflow/profiles/default applies)
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # works without `pip install -e .` too

from kinetigen.config import validate_config


configfile: "config.yaml"


# Types, unknown keys and defaults (JSON Schema), then ids checked against the model:
# bad input fails here, before any job starts.
validate_config(config)


include: "workflow/rules/common.smk"
include: "workflow/rules/thermo.smk"
include: "workflow/rules/sampling.smk"


rule all:
    input:
        "results/thermo/reaction_energies.csv",
        expand("results/envs/{env}/tfa_summary.json", env=ENVIRONMENTS),
        expand("results/envs/{env}/variability.csv", env=ENVIRONMENTS),
        expand("results/envs/{env}/steady_states.parquet", env=ENVIRONMENTS),
    default_target: True
