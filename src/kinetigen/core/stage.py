"""The workflow's core stage: reduce the kinetic core in one environment and write the reduced
model (cobra JSON, read by every later stage of that environment) and its ``core.json``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import cobra
from cobra.io import save_json_model

from kinetigen.core.reduce import CoreReduction, reduce_in_environment, reduced_reference
from kinetigen.core.report import core_document, kinetic_sizes
from kinetigen.core.select import select_core
from kinetigen.io import atomic_path, read_json, write_json
from kinetigen.kinetics.settings import KineticsSettings

log = logging.getLogger(__name__)


def reduce_environment(
    model: cobra.Model,
    config: Mapping[str, Any],
    name: str,
    environment: Mapping[str, Any],
    model_path: str | os.PathLike,
    core_path: str | os.PathLike,
) -> CoreReduction:
    """Select the core of ``model`` (``config``: its ``core``, ``physiology``,
    ``biomass_reaction`` and ``kinetics`` sections), reduce it at environment ``name``'s
    genome-scale pFBA solution and write the reduced model and its ``core.json``, each
    atomically."""
    core = select_core(model, config)
    reduction = reduce_in_environment(model, core, name, environment)
    reference = reduced_reference(core, reduction.boundary, reduction.reference_fluxes)
    sizes = kinetic_sizes(
        reduction.model, reduction.boundary, reference, KineticsSettings.from_config(config)
    )
    document = core_document(core, reduction.boundary, sizes)
    document["environment"] = name
    document["reference_growth_per_h"] = reduction.growth
    with atomic_path(model_path) as tmp:
        save_json_model(reduction.model, str(tmp))
    write_json(document, core_path)
    log.info(
        "%s: core of %d reactions and %d metabolites, %d boundary reactions; reference "
        "growth %.4g 1/h; kinetic model about %d states, %d reactions, %d Km",
        name,
        len(core.reactions),
        len(core.metabolites),
        len(reduction.boundary),
        reduction.growth,
        sizes["states"],
        sizes["reactions"],
        sizes["km_parameters"],
    )
    return reduction


def gather_core_documents(
    paths: Mapping[str, str | os.PathLike], output: str | os.PathLike
) -> dict[str, Any]:
    """``results/kinetic/core.json``: the core (its reactions, metabolites and states, the
    same in every environment) once, and per environment its boundary reactions and sizes
    (environment name -> the ``core.json`` path of its reduction)."""
    documents = {name: read_json(path) for name, path in paths.items()}
    first = next(iter(documents.values()))
    shared = ("whole_model", "reactions", "metabolites", "states", "boundary_metabolites")
    gathered = {key: first[key] for key in shared}
    gathered["environments"] = {
        name: {key: value for key, value in document.items() if key not in shared}
        for name, document in documents.items()
    }
    write_json(gathered, output)
    return gathered
