"""One Km parameter space shared by every environment's kinetic model.

The space is the union of the Km parameters of all environments (a reaction that runs in
different directions, or has no thermodynamic data, may saturate with different metabolites
in different environments). One generator output vector of ln Km serves every environment;
each environment takes its parameters by index.

Measured Km (``kinetics.measured_km``) narrow a parameter's bounds to the measured range (equal
bounds for a measured value), and the table then gets a ``source`` column (empty for the
generated parameters); without measured Km it has exactly :data:`COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cobra
import numpy as np
import pandas as pd

from kinetigen.kinetics.settings import KineticsSettings, as_settings
from kinetigen.kinetics.structure import KineticModel, build_kinetic_model
from kinetigen.network import Networks, network_of
from kinetigen.schema import config_error
from kinetigen.settings import WorkflowSettings

COLUMNS = ["name", "reaction", "metabolite", "role", "ln_km_lower", "ln_km_upper"]
# Added when some Km are measured: where each measured one comes from ("" for the others).
SOURCE = "source"


@dataclass(frozen=True, eq=False)
class ParameterSpace:
    """Shared Km parameters: ``frame`` has the columns of ``parameters.csv`` (name, reaction,
    metabolite, role, ln_km_lower, ln_km_upper; ln of Km in mol/L)."""

    frame: pd.DataFrame

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.frame]
        if missing:
            raise ValueError(f"parameter table lacks columns {missing}")
        duplicated = self.frame["name"][self.frame["name"].duplicated()].tolist()
        if duplicated:
            raise ValueError(f"parameter table repeats names {duplicated[:5]}")
        # Equal bounds: a measured Km, held fixed.
        if not np.all(self.frame["ln_km_lower"] <= self.frame["ln_km_upper"]):
            bad = self.frame.loc[~(self.frame["ln_km_lower"] <= self.frame["ln_km_upper"]), "name"]
            raise ValueError(f"parameters {bad.tolist()[:5]} have ln_km_lower > ln_km_upper")

    @property
    def names(self) -> list[str]:
        return self.frame["name"].tolist()

    @property
    def lower(self) -> np.ndarray:
        return self.frame["ln_km_lower"].to_numpy(float)

    @property
    def upper(self) -> np.ndarray:
        return self.frame["ln_km_upper"].to_numpy(float)

    def __len__(self) -> int:
        return len(self.frame)

    def with_measured(
        self, config: KineticsSettings | WorkflowSettings | Mapping[str, Any]
    ) -> ParameterSpace:
        """This space with the measured Km's bounds exactly as configured (ln of the values in
        mol/L): a CSV round trip can move a float by one unit in the last place, so the
        generator takes them from the settings. Itself when no Km is measured."""
        settings = as_settings(config)
        index, low, high = measured_columns(self.names, settings)
        if not len(index):
            return self
        frame = self.frame.copy()
        frame.loc[frame.index[index], "ln_km_lower"] = low
        frame.loc[frame.index[index], "ln_km_upper"] = high
        return ParameterSpace(frame)

    def index_of(self, model: KineticModel) -> np.ndarray:
        """Positions of ``model.parameters`` in the shared vector."""
        position = {name: i for i, name in enumerate(self.names)}
        missing = [name for name in model.parameter_names if name not in position]
        if missing:
            raise KeyError(
                f"environment {model.environment!r}: parameters missing from the shared "
                f"space: {missing[:5]}" + (" ..." if len(missing) > 5 else "")
            )
        return np.array([position[name] for name in model.parameter_names], dtype=int)

    def ln_concentration(self, model: KineticModel, positions: Sequence[int]) -> np.ndarray:
        """[S, P] ln concentration (ln mol/L) of each shared parameter's metabolite at
        ``model``'s steady states ``positions``; NaN for the parameters ``model`` lacks."""
        ln_x = np.full((len(positions), len(self)), np.nan)
        own = model.ln_concentration[np.asarray(positions, dtype=int)]
        ln_x[:, self.index_of(model)] = own[:, model.layout.param_metabolite]
        return ln_x

    @classmethod
    def from_models(
        cls,
        models: Iterable[KineticModel],
        cobra_models: cobra.Model | Iterable[cobra.Model],
        config: KineticsSettings | Mapping[str, Any],
    ) -> ParameterSpace:
        """Union of the models' Km parameters in network order (reaction, then metabolite).
        ``cobra_models``: the network, or each environment's (a kinetic core's reduced
        models), whose reactions and metabolites are ordered by first appearance."""
        settings = as_settings(config)
        parameters = {}
        for model in models:
            for parameter in model.parameters:
                parameters.setdefault(parameter.name, parameter)
        networks = [cobra_models] if isinstance(cobra_models, cobra.Model) else cobra_models
        reaction_order: dict[str, int] = {}
        metabolite_order: dict[str, int] = {}
        for network in networks:
            for reaction in network.reactions:
                reaction_order.setdefault(reaction.id, len(reaction_order))
            for metabolite in network.metabolites:
                metabolite_order.setdefault(metabolite.id, len(metabolite_order))
        ordered = sorted(
            parameters.values(),
            key=lambda p: (reaction_order[p.reaction], metabolite_order[p.metabolite]),
        )
        unknown = set(settings.km_bounds_overrides_M) - set(parameters)
        if unknown:
            raise config_error(
                "kinetics.km_bounds_overrides_M", f"names unknown parameters: {sorted(unknown)[:5]}"
            )
        _check_measured_in_space(settings, parameters)
        rows = []
        for parameter in ordered:
            lower, upper = settings.ln_km_bounds(parameter.name)
            rows.append(
                (
                    parameter.name,
                    parameter.reaction,
                    parameter.metabolite,
                    parameter.role,
                    lower,
                    upper,
                )
            )
        frame = pd.DataFrame(rows, columns=COLUMNS)
        if settings.measured_km:
            measured = settings.measured
            frame[SOURCE] = [
                measured[name].source if name in measured else "" for name in frame["name"]
            ]
        return cls(frame)


def _check_measured_in_space(settings: KineticsSettings, parameters: Iterable[str]) -> None:
    """Every measured Km names a parameter of some environment's kinetic model. The reaction
    and metabolite were checked against the network before any job; what only the steady
    states tell is whether the reaction is active and the metabolite saturates it."""
    known = set(parameters)
    for item in settings.measured_km:
        if item.name not in known:
            raise config_error(
                item.key,
                f"{item.describe()} is not a parameter of any environment's kinetic model: "
                "the reaction is inactive everywhere, or the metabolite does not saturate it "
                "(a small molecule of a reversible rate law, or a product of an irreversible "
                "one)",
            )


def measured_columns(
    names: Sequence[str], settings: KineticsSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured Km among parameters ``names``: (positions in ``names``, ln Km lower and
    upper bounds, ln of mol/L; equal for a measured value). Empty arrays when none is."""
    measured = settings.measured
    index = np.array([i for i, name in enumerate(names) if name in measured], dtype=int)
    bounds = np.array([settings.ln_km_bounds(names[i]) for i in index], dtype=float)
    bounds = bounds.reshape(-1, 2)
    return index, bounds[:, 0], bounds[:, 1]


def kinetic_parameters(
    cobra_model: cobra.Model | Networks,
    samples_by_environment: Mapping[str, pd.DataFrame],
    config: KineticsSettings | Mapping[str, Any],
) -> pd.DataFrame:
    """The shared parameter table (``results/kinetic/parameters.csv``) for all environments.

    ``samples_by_environment`` maps environment name to its steady-state DataFrame; the
    structure is fixed per environment, so a few rows per environment are enough.
    ``cobra_model``: the network, or each environment's (:func:`kinetigen.network.load_networks`).
    """
    if not samples_by_environment:
        raise ValueError("kinetic_parameters needs at least one environment")
    networks = [network_of(cobra_model, name) for name in samples_by_environment]
    models = [
        build_kinetic_model(network, samples, config, environment)
        for network, (environment, samples) in zip(
            networks, samples_by_environment.items(), strict=True
        )
    ]
    return ParameterSpace.from_models(models, networks, config).frame
