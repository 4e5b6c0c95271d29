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
