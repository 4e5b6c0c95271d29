"""kinetigen.generator: the conditional generator of ln Km and its condition featurisation."""

from kinetigen.generator.conditions import ConditionEncoder
from kinetigen.generator.files import load_generator, save_generator
from kinetigen.generator.model import (
    Generator,
    flatten_parameters,
    forward_population,
    load_flat_parameters,
    unflatten_parameters,
)

__all__ = [
    "ConditionEncoder",
    "Generator",
    "flatten_parameters",
    "forward_population",
    "load_flat_parameters",
    "load_generator",
    "save_generator",
    "unflatten_parameters",
]
