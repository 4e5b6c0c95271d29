"""The analysis stage as the workflow runs it, per environment: pick the models, compute their
control coefficients, check them, and run the enzyme perturbation studies."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import cobra
import numpy as np
import pandas as pd
import torch

from kinetigen.analysis.control import (
    STATUS_LABELS,
    ControlAnalysis,
    ControlCoefficients,
    combined_flux_control,
    finite_difference_control,
)
from kinetigen.analysis.perturbations import (
    FluxTargets,
    PerturbationTask,
    enzyme_changes,
    enzyme_perturbations,
    flux_targets,
    perturbation_summary,
)
from kinetigen.columns import FLUX_PREFIX
from kinetigen.generator import load_generator
from kinetigen.io import read_csv, read_parquet
from kinetigen.kinetics import KineticModel, ParameterSpace, build_kinetic_model
from kinetigen.kinetics.batched import DTYPE
from kinetigen.kinetics.settings import KineticsSettings, as_settings
from kinetigen.network import load_network
from kinetigen.seeds import derive_seed
from kinetigen.settings import AnalysisSettings, FiniteDifferenceSettings, WorkflowSettings
from kinetigen.validation.ensembles import ModelSet, generated_models, oracle_models

log = logging.getLogger(__name__)

# The groups compared: generated valid models and ORACLE-valid models.
GROUPS = ("generated", "oracle")
# Finite differences agree when the relative error is at most this (DESIGN.md 2.7).
FD_TOLERANCE = 1e-3


def main_substrate_uptake(cobra_model: cobra.Model, samples: pd.DataFrame) -> str:
    """The exchange with the largest carbon uptake (mmol C/gDW/h, mean over ``samples``) of
    an organic metabolite (one with C and H): the environment's main substrate."""
    best, best_uptake = None, 0.0
    for reaction in cobra_model.exchanges:
        (metabolite,) = reaction.metabolites
        elements = metabolite.elements
        column = FLUX_PREFIX + reaction.id
        if column not in samples or not {"C", "H"} <= set(elements):
            continue
        uptake = -float(samples[column].mean()) * elements["C"]
        if uptake > best_uptake:
            best, best_uptake = reaction.id, uptake
    if best is None:
        raise ValueError("no exchange takes up an organic carbon source")
    return best


def analysis_models(
    cobra_model: cobra.Model,
    samples: pd.DataFrame,
    parameters: pd.DataFrame,
    oracle: pd.DataFrame,
    config: KineticsSettings | WorkflowSettings | Mapping[str, Any],
    generator_path: str,
    env: str,
    n_models: int,
    seed: int,
    oracle_seed: int,
) -> tuple[KineticModel, list[ModelSet]]:
    """The kinetic model of ``env`` and its two groups (:data:`GROUPS`) on the evaluation
    steady states: ``n_models`` generated valid models and the first ``n_models``
    ORACLE-valid draws (regenerated from the ORACLE seed). Deterministic, so the
    perturbation rule's first models are the control rule's."""
    settings = as_settings(config)
    model = build_kinetic_model(cobra_model, samples, settings, env)
    generator, encoder, _ = load_generator(generator_path)
    positions = model.split.evaluation.tolist()
    generated = generated_models(
        generator, encoder, model, samples, ParameterSpace(parameters), positions, n_models, seed
    )
    valid_oracle = oracle_models(
        model,
        oracle,
        "oracle",
        n_models,
        oracle_seed,
        settings.oracle_batch_size,
        settings.oracle_parameter_sets,
    )
    return model, [generated, valid_oracle]


def load_stage_models(
    inputs: Mapping[str, str],
    config: Mapping[str, Any],
    model_spec: str,
    solver: str,
    env: str,
    n_models: int,
    seed: int,
) -> tuple[cobra.Model, pd.DataFrame, KineticModel, list[ModelSet]]:
    """What both analysis rules start from: the network, the steady states, the kinetic
    model and its groups (:func:`analysis_models`), from the rule's ``inputs`` (samples,
    parameters, oracle, generator paths) and ``config`` (its params); seeds derived from
    ``seed`` as the ORACLE rule derives its own."""
    network = load_network(model_spec, solver=solver)
    samples = read_parquet(inputs["samples"])
    model, model_sets = analysis_models(
        network,
        samples,
        read_csv(inputs["parameters"]),
        read_csv(inputs["oracle"]),
        KineticsSettings.from_config(config),
        inputs["generator"],
        env,
        n_models=n_models,
        seed=derive_seed(seed, "analysis", env),
        oracle_seed=derive_seed(seed, "oracle", env),
    )
    return network, samples, model, model_sets


def fluxes_of_interest(
    model: KineticModel,
    cobra_model: cobra.Model,
    samples: pd.DataFrame,
    settings: AnalysisSettings,
) -> tuple[FluxTargets, list[str]]:
    """Growth, the main substrate uptake and ``settings.fluxes``, as targets of ``model``;
    and the configured fluxes skipped because this environment's kinetic model carries none
    of them (logged)."""
    names = [model.settings.biomass_reaction, main_substrate_uptake(cobra_model, samples)]
    kept, skipped = [], []
    for name in dict.fromkeys([*names, *settings.fluxes]):
        try:
            flux_targets(model, cobra_model, [name])
        except ValueError as error:
            if name in names:
                raise
            log.warning("%s; skipped", error)
            skipped.append(name)
            continue
        kept.append(name)
    return flux_targets(model, cobra_model, kept), skipped


def _target_control(
    coefficients: ControlCoefficients, model: KineticModel, set_: ModelSet, targets: FluxTargets
) -> np.ndarray:
    """C^J [B, T, reactions] of ``targets`` (NaN for models that are not OK)."""
    flux = torch.as_tensor(model.flux[set_.positions], dtype=DTYPE)
    weights = torch.as_tensor(targets.weights, dtype=DTYPE)
    return combined_flux_control(coefficients.flux, flux, weights).numpy()


def _long_table(group: str, kind: str, values: np.ndarray, targets, enzymes) -> pd.DataFrame:
    n_models, n_targets, n_enzymes = values.shape
    return pd.DataFrame(
        {
            "group": group,
            "model": np.repeat(np.arange(n_models), n_targets * n_enzymes),
            "kind": kind,
            "target": np.tile(np.repeat(np.asarray(targets, dtype=object), n_enzymes), n_models),
            "enzyme": np.tile(np.asarray(enzymes, dtype=object), n_models * n_targets),
            "coefficient": values.reshape(-1),
        }
    )


SUMMARY_COLUMNS = (
    "group", "kind", "target", "enzyme", "flux_of_interest", "n_models",
    "median", "q25", "q75", "median_abs", "fraction_positive", "rank",
)  # fmt: skip


def _summary_rows(
    group: str, kind: str, values: np.ndarray, targets, enzymes, of_interest
) -> pd.DataFrame:
    ok = np.isfinite(values).all(axis=(1, 2))
    values = values[ok]
    if not len(values):  # no usable model: an empty table that still has the columns
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75], axis=0)
    median_abs = np.median(np.abs(values), axis=0)
    rank = (-median_abs).argsort(axis=1).argsort(axis=1) + 1
    n_targets, n_enzymes = median.shape
    return pd.DataFrame(
        {
            "group": group,
            "kind": kind,
            "target": np.repeat(np.asarray(targets, dtype=object), n_enzymes),
            "enzyme": np.tile(np.asarray(enzymes, dtype=object), n_targets),
            "flux_of_interest": np.repeat([t in of_interest for t in targets], n_enzymes),
            "n_models": len(values),
            "median": median.reshape(-1),
            "q25": q25.reshape(-1),
            "q75": q75.reshape(-1),
            "median_abs": median_abs.reshape(-1),
            "fraction_positive": (values > 0).mean(axis=0).reshape(-1),
            "rank": rank.reshape(-1),
        }
    )


def _finite_difference_check(
    model: KineticModel,
    coefficients: ControlCoefficients,
    set_: ModelSet,
    check: FiniteDifferenceSettings,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Largest relative error of C^J and C^x against finite differences on the first
    ``check.models`` OK models (error metric of the tests: relative, with a floor of 1e-2 of
    the largest coefficient of the column and 1e-3)."""
    worst = {"flux": 0.0, "concentration": 0.0}
    failed = checked = 0
    n_enzymes = min(check.enzymes, len(model.reactions))
    for b in np.flatnonzero(coefficients.ok)[: check.models]:
        enzymes = rng.choice(len(model.reactions), n_enzymes, replace=False)
        fd = finite_difference_control(
            model, int(set_.positions[b]), set_.ln_km[b], enzymes, step=check.step
        )
        exact = (
            coefficients.flux[b].numpy()[:, enzymes],
            coefficients.concentration[b].numpy()[:, enzymes],
        )
        for kind, approx, value in zip(worst, fd, exact, strict=True):
            if not np.all(np.isfinite(approx)):
                failed += 1
                continue
            floor = np.maximum(1e-2 * np.abs(value).max(axis=0), 1e-3)
            error = np.abs(approx - value) / np.maximum(np.abs(value), floor)
            worst[kind] = max(worst[kind], float(error.max(initial=0.0)))
        checked += 1
    return {
        "models": checked,
        "enzymes_per_model": n_enzymes,
        "step": check.step,
        "failed_solves": failed,
        "max_relative_error_flux": worst["flux"],
        "max_relative_error_concentration": worst["concentration"],
        "agrees_within_1e-3": bool(checked and max(worst.values()) <= FD_TOLERANCE and not failed),
    }


def _theorem_checks(coefficients: ControlCoefficients) -> dict[str, Any]:
    """Status counts and the largest residuals of the summation and connectivity theorems."""
    residuals = coefficients.residuals()
    return {
        "models": len(coefficients),
        "status": coefficients.status_counts(),
        "max_residual": {
            name: float(np.nanmax(values)) if coefficients.ok.any() else None
            for name, values in residuals.items()
        },
        "theorems_hold_1e-8": bool(
            coefficients.ok.any() and all(np.nanmax(v) < 1e-8 for v in residuals.values())
        ),
    }


def control_analysis(
    model: KineticModel,
    cobra_model: cobra.Model,
    samples: pd.DataFrame,
    model_sets: list[ModelSet],
    settings: AnalysisSettings | Mapping[str, Any],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Control coefficients of every model of ``model_sets``.

    Returns the long table (``control_coefficients.parquet``: group, model, kind
    flux/concentration, target, enzyme, coefficient; flux targets are every kinetic
    reaction plus the fluxes of interest that are exchanges), the summary
    (``control_summary.csv``: per group, kind, target and enzyme the median, quartiles,
    median |C|, fraction positive and the enzyme's rank by median |C| for that target) and
    the checks (``control_checks.json``: status counts, theorem residuals, finite
    differences on a sample).
    """
    settings = AnalysisSettings.coerce(settings)
    targets, skipped = fluxes_of_interest(model, cobra_model, samples, settings)
    extra = [n for n in targets.names if n not in model.reactions]
    extra_targets = flux_targets(model, cobra_model, extra)
    analysis = ControlAnalysis(model)
    rng = np.random.default_rng(seed)
    tables, summaries = [], []
    checks: dict[str, Any] = {
        "environment": model.environment,
        "fluxes_of_interest": targets.names,
        "skipped_fluxes": skipped,
        "sizes": model.sizes(),
        "groups": {},
    }
    for set_ in model_sets:
        if not len(set_):
            checks["groups"][set_.group] = {"models": 0}
            continue
        coefficients = analysis(set_.ln_km, set_.positions)
        flux = np.concatenate(
            [
                coefficients.flux.numpy(),
                _target_control(coefficients, model, set_, extra_targets),
            ],
            axis=1,
        )
        flux_names = model.reactions + extra
        concentration = coefficients.concentration.numpy()
        for kind, values, names in (
            ("flux", flux, flux_names),
            ("concentration", concentration, model.states),
        ):
            tables.append(_long_table(set_.group, kind, values, names, model.reactions))
            summaries.append(
                _summary_rows(set_.group, kind, values, names, model.reactions, targets.names)
            )
        fd = _finite_difference_check(model, coefficients, set_, settings.finite_difference, rng)
        checks["groups"][set_.group] = {**_theorem_checks(coefficients), "finite_differences": fd}
        log.info(
            "%s %s: %d models, status %s",
            model.environment,
            set_.group,
            len(set_),
            coefficients.status_counts(),
        )
    table = pd.concat(tables, ignore_index=True)
    for column in ("group", "kind", "target", "enzyme"):
        table[column] = table[column].astype("category")
    checks["status_labels"] = list(STATUS_LABELS.values())
    summary = pd.concat(summaries, ignore_index=True)
    checks["agreement"] = group_agreement(summary, targets.names)
    return table, summary, checks


# Fewer ORACLE-valid models than this give no spread to measure a shift in (one model: IQR 0).
MIN_MODELS_FOR_IQR = 5


def group_agreement(summary: pd.DataFrame, targets: list[str], n_top: int = 3) -> dict[str, Any]:
    """Do generated and ORACLE-valid models give the same biological conclusions? Per flux of
    interest: each group's ``n_top`` enzymes by median |C^J| (median, q25, q75), how many of
    them the groups share, each group's ``n_models``, and for every enzyme in either list the
    shift of the generated median from the ORACLE one in units of the ORACLE IQR (the largest
    is ``max_shift_iqr``; both None, with a ``shift_note``, when the ORACLE group has fewer
    than :data:`MIN_MODELS_FOR_IQR` models).
    """
    flux = summary[summary["kind"] == "flux"]
    out: dict[str, Any] = {}
    for target in targets:
        rows = flux[flux["target"] == target]
        groups = {g: rows[rows["group"] == g].set_index("enzyme") for g in GROUPS}
        if any(table.empty for table in groups.values()):
            continue
        top = {
            g: table.sort_values("rank").head(n_top)[["median", "q25", "q75"]]
            for g, table in groups.items()
        }
        enzymes = list(dict.fromkeys([*top["generated"].index, *top["oracle"].index]))
        generated, oracle = groups["generated"].loc[enzymes], groups["oracle"].loc[enzymes]
        n_models = {g: int(table["n_models"].iloc[0]) for g, table in groups.items()}
        out[target] = {
            "top": {g: table.round(4).reset_index().to_dict("records") for g, table in top.items()},
            "shared_top": len(set(top["generated"].index) & set(top["oracle"].index)),
            "n_models": n_models,
            "shift_iqr": None,
            "max_shift_iqr": None,
        }
        if n_models["oracle"] < MIN_MODELS_FOR_IQR:
            out[target]["shift_note"] = (
                f"{n_models['oracle']} ORACLE-valid model(s), fewer than {MIN_MODELS_FOR_IQR}: "
                "no spread to measure the shift in"
            )
            continue
        iqr = (oracle["q75"] - oracle["q25"]).clip(lower=1e-12)
        shift = ((generated["median"] - oracle["median"]) / iqr).round(3)
        out[target]["shift_iqr"] = shift.to_dict()
        out[target]["max_shift_iqr"] = float(shift.abs().max())
    return out


def perturbation_analysis(
    model: KineticModel,
    cobra_model: cobra.Model,
    samples: pd.DataFrame,
    model_sets: list[ModelSet],
    settings: AnalysisSettings | Mapping[str, Any],
    processes: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enzyme perturbations of the first ``perturbation_models`` models of each group
    (``enzyme_perturbations.csv``) and their summary (``perturbation_summary.csv``), see
    :func:`kinetigen.analysis.perturbations.enzyme_perturbations`."""
    settings = AnalysisSettings.coerce(settings)
    targets, _ = fluxes_of_interest(model, cobra_model, samples, settings)
    changes = enzyme_changes(settings.perturbations, model.environment)
    analysis = ControlAnalysis(model)
    tasks = []
    for set_ in model_sets:
        head = slice(0, min(settings.perturbation_models, len(set_)))
        if head.stop == 0:
            continue
        coefficients = analysis(set_.ln_km[head], set_.positions[head])
        subset = ModelSet(
            set_.group,
            set_.positions[head],
            set_.ln_km[head],
            set_.lambda_max[head],
            set_.threshold[head],
        )
        control = _target_control(coefficients, model, subset, targets)
        for i in range(head.stop):
            position = int(subset.positions[i])
            growth = max(float(model.growth_rate[position]), 1e-12)
            tasks.append(
                PerturbationTask(
                    set_.group, i, position, subset.ln_km[i], control[i], np.log(2.0) / growth
                )
            )
    table = enzyme_perturbations(
        model,
        tasks,
        changes,
        targets,
        settings.horizon_doubling_times,
        settings.settle_tolerance,
        processes,
    )
    return table, perturbation_summary(table)
