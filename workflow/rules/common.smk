# Helpers shared by the rule files.
from pathlib import Path

ENVIRONMENTS = list(config["environments"])


wildcard_constraints:
    env="|".join(ENVIRONMENTS) if ENVIRONMENTS else "[^/]+",


def model_files():
    """The model file as an input when config names a path (cobra's bundled models have none)."""
    spec = config["model"]
    return [spec] if Path(spec).suffix else []


def environment(wildcards):
    return config["environments"][wildcards.env]


# Every rule that builds on the network gets these as params, so editing them reruns it.
NETWORK_PARAMS = dict(
    model=config["model"],
    solver=config["solver"],
    biomass_reaction=config["biomass_reaction"],
)

# Only what eQuilibrator's estimate depends on, so editing concentration bounds, z or the cell
# density does not recompute the reaction energies.
ENERGY_PHYSIOLOGY = dict(
    temperature_K=config["physiology"]["temperature_K"],
    compartments={
        name: {key: compartment[key] for key in ("pH", "ionic_strength_M", "potential_mV")}
        for name, compartment in config["physiology"]["compartments"].items()
    },
)
ENERGY_THERMO = {key: value for key, value in config["thermo"].items() if key != "z_score"}
# What TFA and sampling read of the physiology (concentration bounds, temperature).
TFA_PHYSIOLOGY = {key: config["physiology"][key] for key in ("temperature_K", "compartments")}
