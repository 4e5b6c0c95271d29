"""Kinetic models: Haldane-consistent rate laws, batched reduced Jacobians, baselines, SBML.

Top-level functions for the workflow rules (pure: plain objects in, DataFrames/dicts out; the
per-environment ones take the environment's :class:`KineticModel`, which carries its settings,
from :func:`build_kinetic_model`):

- :func:`kinetic_parameters` -> ``results/kinetic/parameters.csv``
- :func:`attainability` -> ``results/envs/{env}/attainability.csv``
- :func:`oracle_baseline` -> ``results/envs/{env}/oracle.csv`` and its summary json
- :func:`export_oracle_models` / :func:`export_sbml` -> ``results/envs/{env}/sbml/*.xml``
"""

from kinetigen.kinetics.batched import BatchedJacobian, largest_real_eigenvalue
from kinetigen.kinetics.nonlinear import NonlinearModel
from kinetigen.kinetics.parameters import ParameterSpace, kinetic_parameters
from kinetigen.kinetics.sbml import export_oracle_models, export_sbml, sbml_document, sbml_string
from kinetigen.kinetics.screening import (
    attainability,
    attainability_search,
    oracle_baseline,
    oracle_parameter_sets,
    oracle_sampling,
    resolve_device,
)
from kinetigen.kinetics.settings import (
    GAS_CONSTANT_KJ,
    KineticsConfigError,
    KineticsSettings,
)
from kinetigen.kinetics.split import SteadyStateSplit, attainable_positions, split_steady_states
from kinetigen.kinetics.structure import (
    CONVENIENCE,
    IRREVERSIBLE_MM,
    REVERSIBLE_MM,
    KineticModel,
    KineticModelError,
    KmParameter,
    RateLaw,
    build_kinetic_model,
    conservation_analysis,
)
from kinetigen.kinetics.validity import return_test_factor, validity_threshold

__all__ = [
    "CONVENIENCE",
    "GAS_CONSTANT_KJ",
    "IRREVERSIBLE_MM",
    "REVERSIBLE_MM",
    "BatchedJacobian",
    "KineticModel",
    "KineticModelError",
    "KineticsConfigError",
    "KineticsSettings",
    "KmParameter",
    "NonlinearModel",
    "ParameterSpace",
    "RateLaw",
    "attainability",
    "attainable_positions",
    "attainability_search",
    "build_kinetic_model",
    "conservation_analysis",
    "export_oracle_models",
    "export_sbml",
    "kinetic_parameters",
    "largest_real_eigenvalue",
    "oracle_baseline",
    "oracle_parameter_sets",
    "oracle_sampling",
    "resolve_device",
    "sbml_document",
    "sbml_string",
    "return_test_factor",
    "split_steady_states",
    "SteadyStateSplit",
    "validity_threshold",
]
