"""SBML export of one parameterized kinetic model (python-libsbml, SBML Level 3 Version 1).

Units: substance mole, volume litre, time hour (3600 s); species are concentrations in mol/L;
every compartment has volume 1 L, and each kinetic law is the concentration rate (mol/L/h)
times the volume of the compartment of the reaction's first dynamic species, so d[x]/dt
equals kinetigen's rhs. Extracellular metabolites, H+ and H2O are constant boundary species
(H+ at 10^-pH of its compartment, H2O at 55.5 mol/L; neither enters a rate law). Parameters
are global: ``Vmax_<reaction>`` (mol/L/h), ``Keq_<reaction>`` (model orientation, reversible
laws only) and ``km_<reaction>_<metabolite>`` (mol/L); the drains of a per-substrate biomass
(``kinetics.biomass_law``) are reactions ``R_<biomass>__<substrate>`` whose Km keep the biomass
reaction's name.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libsbml
import numpy as np
import pandas as pd

from kinetigen.io import write_text
from kinetigen.kinetics.nonlinear import NonlinearModel
from kinetigen.kinetics.screening import oracle_parameter_sets
from kinetigen.kinetics.structure import KineticModel, RateLaw
from kinetigen.network import base_id

logger = logging.getLogger(__name__)

WATER_CONCENTRATION_M = 55.5


class SBMLExportError(RuntimeError):
    """libsbml rejected part of the exported model."""


def sbml_id(raw: str, prefix: str = "") -> str:
    """A valid SBML SId: invalid characters become underscores."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", prefix + raw)
    return text if re.match(r"[A-Za-z_]", text) else "_" + text


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SBMLExportError(
            f"libsbml failed to {what}: {libsbml.OperationReturnValue_toString(status)}"
        )


def _unit(model: libsbml.Model, unit_id: str, parts: list[tuple[int, float, float]]) -> None:
    definition = model.createUnitDefinition()
    _check(definition.setId(unit_id), f"set unit id {unit_id}")
    for kind, exponent, multiplier in parts:
        unit = definition.createUnit()
        unit.setKind(kind)
        unit.setExponent(exponent)
        unit.setScale(0)
        unit.setMultiplier(multiplier)


def _number(value: float) -> str:
    return repr(float(value))


def _power(symbol: str, exponent: float) -> str:
    if exponent == 1:
        return symbol
    return f"{symbol}^{_number(exponent) if exponent != round(exponent) else int(exponent)}"


def sbml_document(
    nonlinear: NonlinearModel, model_id: str | None = None, notes: Mapping[str, Any] | None = None
) -> libsbml.SBMLDocument:
    """SBML document of one parameterized model (its kinetic model at its steady state with
    its Km); initial concentrations are the steady state's."""
    model = nonlinear.model
    document = libsbml.SBMLDocument(3, 1)
    sbml = document.createModel()
    _describe(sbml, model, nonlinear.steady_state, model_id, notes)
    _add_units(sbml)
    compartment_ids = _add_compartments(sbml, model)
    ids = _SbmlIds(species=_add_species(sbml, model, nonlinear, compartment_ids))
    for km_parameter, km in zip(model.parameters, nonlinear.km, strict=True):
        ids.km[(km_parameter.reaction, km_parameter.metabolite)] = _add_parameter(
            sbml, sbml_id(km_parameter.name), km, "molar"
        )
    state_set = set(model.states)
    for j, law in enumerate(model.rate_laws):
        vmax = _add_parameter(
            sbml, f"Vmax_{sbml_id(law.reaction)}", nonlinear.vmax[j], "molar_per_hour"
        )
        numerator, driving, denominator = _rate_terms(sbml, law, nonlinear.ln_keq[j], ids)
        first_state = next(m for m in model.reaction_metabolites[j] if m in state_set)
        volume = compartment_ids[model.compartments[first_state]]
        sign = "" if law.direction > 0 else "-"
        formula = f"{sign}{volume} * {vmax} * {numerator}{driving} / {denominator}"
        _add_reaction(sbml, law, model.reaction_metabolites[j], ids, formula)
    return document


def _describe(
    sbml: libsbml.Model,
    model: KineticModel,
    steady_state: int,
    model_id: str | None,
    notes: Mapping[str, Any] | None,
) -> None:
    """Id, name and notes (environment, steady state, threshold, extra ``notes``)."""
    identifier = sbml_id(model_id or f"{model.environment}_{model.sample_ids[steady_state]}")
    _check(sbml.setId(identifier), "set the model id")
    sbml.setName(f"kinetigen model, environment {model.environment}")
    lines = [
        f"environment: {model.environment}",
        f"steady state: {model.sample_ids[steady_state]}",
        f"lambda threshold (1/h): {model.threshold[steady_state]:.6g}",
    ] + [f"{key}: {value}" for key, value in (notes or {}).items()]
    body = "".join(f"<p>{line}</p>" for line in lines)
    sbml.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>')


def _add_units(sbml: libsbml.Model) -> None:
    """Hours for time, mol/L for concentrations: the kinetic model's own units."""
    _unit(sbml, "hour", [(libsbml.UNIT_KIND_SECOND, 1, 3600.0)])
    _unit(sbml, "per_hour", [(libsbml.UNIT_KIND_SECOND, -1, 3600.0)])
    _unit(sbml, "molar", [(libsbml.UNIT_KIND_MOLE, 1, 1.0), (libsbml.UNIT_KIND_LITRE, -1, 1.0)])
    _unit(
        sbml,
        "molar_per_hour",
        [
            (libsbml.UNIT_KIND_MOLE, 1, 1.0),
            (libsbml.UNIT_KIND_LITRE, -1, 1.0),
            (libsbml.UNIT_KIND_SECOND, -1, 3600.0),
        ],
    )
    _unit(
        sbml,
        "mole_per_hour",
        [(libsbml.UNIT_KIND_MOLE, 1, 1.0), (libsbml.UNIT_KIND_SECOND, -1, 3600.0)],
    )
    sbml.setTimeUnits("hour")
    sbml.setSubstanceUnits("mole")
    sbml.setExtentUnits("mole")
    sbml.setVolumeUnits("litre")


def _add_compartments(sbml: libsbml.Model, model: KineticModel) -> dict[str, str]:
    """One constant 1-litre compartment per compartment of the model; their SBML ids."""
    compartment_ids = {}
    for compartment in dict.fromkeys(model.compartments.values()):
        sid = sbml_id(compartment, "C_")
        compartment_ids[compartment] = sid
        item = sbml.createCompartment()
        _check(item.setId(sid), f"set compartment id {sid}")
        item.setConstant(True)
        item.setSize(1.0)
        item.setSpatialDimensions(3)
        item.setUnits("litre")
    return compartment_ids


def _add_species(
    sbml: libsbml.Model,
    model: KineticModel,
    nonlinear: NonlinearModel,
    compartment_ids: Mapping[str, str],
) -> dict[str, str]:
    """Every metabolite at its steady-state concentration (boundary and fixed ones constant;
    H+ from the compartment's pH, water at its molarity); their SBML ids."""
    species_ids: dict[str, str] = {}
    concentration = dict(zip(model.states, nonlinear.x_ref, strict=True))
    concentration.update(zip(model.boundary, nonlinear.boundary_concentration, strict=True))
    for metabolite in model.states + model.boundary + model.fixed:
        sid = sbml_id(metabolite, "M_")
        if sid in species_ids.values():
            raise SBMLExportError(f"metabolite ids collide as SBML id {sid!r}")
        species_ids[metabolite] = sid
        compartment = model.compartments[metabolite]
        constant = metabolite not in concentration or metabolite in model.boundary
        if metabolite in concentration:
            value = concentration[metabolite]
        elif base_id(metabolite) == "h":
            value = 10.0 ** -model.settings.compartment_pH.get(compartment, 7.0)
        else:
            value = WATER_CONCENTRATION_M
        item = sbml.createSpecies()
        _check(item.setId(sid), f"set species id {sid}")
        item.setName(model.names.get(metabolite, metabolite))
        item.setCompartment(compartment_ids[compartment])
        item.setInitialConcentration(float(value))
        item.setHasOnlySubstanceUnits(False)
        item.setBoundaryCondition(constant)
        item.setConstant(constant)
        item.setSubstanceUnits("mole")
    return species_ids


def _add_parameter(sbml: libsbml.Model, pid: str, value: float, units: str) -> str:
    item = sbml.createParameter()
    _check(item.setId(pid), f"set parameter id {pid}")
    item.setValue(float(value))
    item.setConstant(True)
    item.setUnits(units)
    return pid


@dataclass
class _SbmlIds:
    """SBML ids of the species (by metabolite) and Km parameters (by reaction, metabolite)."""

    species: dict[str, str]
    km: dict[tuple[str, str], str] = field(default_factory=dict)


def _rate_terms(sbml: libsbml.Model, law: RateLaw, ln_keq: float, ids: _SbmlIds) -> tuple[str, ...]:
    """Numerator, driving force and denominator of ``law``'s formula (adds its Keq)."""
    def saturation(metabolite: str) -> str:
        return f"({ids.species[metabolite]} / {ids.km[(law.km_reaction, metabolite)]})"

    def polynomial(metabolite: str, exponent: int) -> str:
        u = saturation(metabolite)
        return "(" + " + ".join(["1"] + [_power(u, k) for k in range(1, exponent + 1)]) + ")"

    numerator = " * ".join(_power(saturation(m), n) for m, n in law.substrates) or "1"
    substrate_side = " * ".join(polynomial(m, n) for m, n in law.substrates) or "1"
    if not law.reversible:
        return numerator, "", f"({substrate_side})"
    keq = _add_parameter(
        sbml, f"Keq_{sbml_id(law.reaction)}", math.exp(ln_keq), "dimensionless"
    )
    product_side = " * ".join(polynomial(m, n) for m, n in law.products) or "1"
    products = [(m, c) for m, c in law.thermodynamic if c > 0]
    reactants = [(m, -c) for m, c in law.thermodynamic if c < 0]
    top = " * ".join(_power(ids.species[m], c) for m, c in products) or "1"
    bottom = " * ".join(_power(ids.species[m], c) for m, c in reactants) or "1"
    quotient = f"(({top}) / ({bottom}))"
    gamma = f"{quotient} / {keq}" if law.direction > 0 else f"{keq} / {quotient}"
    return numerator, f" * (1 - {gamma})", f"({substrate_side} + {product_side} - 1)"


def _add_reaction(
    sbml: libsbml.Model, law: RateLaw, metabolites: Mapping[str, float], ids: _SbmlIds, formula: str
) -> None:
    """The reaction with its stoichiometry and the rate law ``formula``."""
    rid = sbml_id(law.reaction, "R_")
    reaction = sbml.createReaction()
    _check(reaction.setId(rid), f"set reaction id {rid}")
    reaction.setReversible(law.reversible)
    reaction.setFast(False)
    for metabolite, coefficient in metabolites.items():
        reference = reaction.createReactant() if coefficient < 0 else reaction.createProduct()
        reference.setSpecies(ids.species[metabolite])
        reference.setStoichiometry(abs(coefficient))
        reference.setConstant(True)
    math_ast = libsbml.parseL3Formula(formula)
    if math_ast is None:
        raise SBMLExportError(
            f"reaction {law.reaction!r}: cannot parse rate law: {libsbml.getLastParseL3Error()}"
        )
    kinetic_law = reaction.createKineticLaw()
    _check(kinetic_law.setMath(math_ast), f"set the rate law of {law.reaction}")


def sbml_string(
    model: KineticModel,
    steady_state: int,
    ln_km: np.ndarray,
    model_id: str | None = None,
    notes: Mapping[str, Any] | None = None,
) -> str:
    """The SBML document (:func:`sbml_document`) of ``model`` at steady state ``steady_state``
    (position) with Km ``exp(ln_km)`` (mol/L), as XML text; raises on SBML errors."""
    document = sbml_document(NonlinearModel(model, steady_state, ln_km), model_id, notes)
    document.checkInternalConsistency()
    errors = [
        document.getError(i)
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    if errors:
        raise SBMLExportError("; ".join(e.getMessage().strip() for e in errors[:5]))
    return libsbml.writeSBMLToString(document)


def export_sbml(
    model: KineticModel,
    steady_state: int,
    ln_km: np.ndarray,
    path: str | os.PathLike,
    model_id: str | None = None,
    notes: Mapping[str, Any] | None = None,
) -> None:
    """Write one parameterized kinetic model as SBML to ``path`` (atomically)."""
    write_text(sbml_string(model, steady_state, ln_km, model_id, notes), path)


def export_oracle_models(
    model: KineticModel, oracle: pd.DataFrame, folder: str | os.PathLike, seed: int
) -> list[Path]:
    """SBML files ``{folder}/{environment}_oracle_{sample}.xml`` for a few ORACLE draws of
    the environment's kinetic ``model`` (:func:`build_kinetic_model`).

    Takes the first ``kinetics.sbml.n_models`` valid rows of the ORACLE table (or, when none
    is valid, those with the lowest lambda_max) and regenerates their Km from ``seed`` and
    the ORACLE settings (the same seed the ORACLE run used).
    """
    settings, environment = model.settings, model.environment
    valid = oracle[oracle["valid"]]
    chosen = (
        valid.sort_values("sample")
        if len(valid)
        else oracle.sort_values("lambda_max", kind="stable")
    ).head(settings.sbml_models)
    indices = chosen["sample"].to_numpy(int)
    positions, ln_km = oracle_parameter_sets(
        model, indices, seed, settings.oracle_batch_size, settings.oracle_parameter_sets
    )
    paths = []
    for index, position, values, (_, row) in zip(
        indices, positions, ln_km, chosen.iterrows(), strict=True
    ):
        path = Path(folder) / f"{environment}_oracle_{index}.xml"
        notes = {
            "ORACLE sample": int(index),
            "lambda_max (1/h)": row["lambda_max"],
            "valid": bool(row["valid"]),
        }
        export_sbml(model, int(position), values, path, notes=notes)
        paths.append(path)
    logger.info("%s: wrote %d SBML models to %s", environment, len(paths), folder)
    return paths
