"""Draw every figure from the workflow's result files (what the ``figures`` rule runs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kinetigen.io import read_csv, read_json, read_parquet
from kinetigen.kinetics.parameters import SOURCE
from kinetigen.kinetics.prior import KmPrior
from kinetigen.plots.common import save_figure
from kinetigen.plots.figures import (
    KmReference,
    plot_bioreactor,
    plot_km_saturation,
    plot_lambda_distributions,
    plot_return_fractions,
    plot_training_curves,
    plot_transfer_matrix,
)
from kinetigen.plots.thermo import plot_dg_ranges
from kinetigen.validation.bioreactor import CONCENTRATION_SUFFIX
from kinetigen.validation.ensembles import LN_KM_PREFIX, SATURATION_PREFIX


def _env_of(path: str) -> str:
    """results/{envs|validation}/{env}/file -> env."""
    return Path(path).parent.name


def _run_of(path: str) -> tuple[str, str]:
    """results/training/{method}/seed{seed}/file or .../per-environment/{env}/seed{s}/file
    -> (method or "per-environment", seed folder or env); results/adaptation/{env}/seed{s}/file
    -> ("adapted", env)."""
    parts = Path(path).parts
    if "training" not in parts:
        return "adapted", parts[parts.index("adaptation") + 1]
    index = parts.index("training")
    return parts[index + 1], parts[index + 2]


def km_saturation_values(
    path: str, groups: Sequence[str] = ("generated", "oracle")
) -> pd.DataFrame:
    """Long table (env, group, model, parameter, log10_km_M, saturation) of the models of
    ``groups`` in one ``results/validation/{env}/parameters.parquet``."""
    table = read_parquet(path)
    table = table[table["group"].isin(groups)]
    names = [c.removeprefix(LN_KM_PREFIX) for c in table.columns if c.startswith(LN_KM_PREFIX)]
    keys = ["group", "model"]
    ln_km = table.melt(
        keys, [LN_KM_PREFIX + n for n in names], var_name="parameter", value_name="ln_km"
    )
    saturation = table.melt(
        keys, [SATURATION_PREFIX + n for n in names], var_name="parameter", value_name="saturation"
    )
    return pd.DataFrame(
        {
            "env": _env_of(path),
            "group": ln_km["group"].to_numpy(),
            "model": ln_km["model"].to_numpy(),
            "parameter": ln_km["parameter"].str.removeprefix(LN_KM_PREFIX).to_numpy(),
            "log10_km_M": ln_km["ln_km"].to_numpy(float) / np.log(10.0),
            # melt keeps the column order, so the two long tables line up row by row.
            "saturation": saturation["saturation"].to_numpy(float),
        }
    )


def km_reference(km_prior: Mapping[str, Any]) -> KmReference:
    """The Km figure's prior: ``kinetics.km_prior`` when used, else its documented defaults
    (median 0.1 mM, one decade: Bar-Even et al. 2011) as the literature reference."""
    defaults = KmReference().prior
    prior = KmPrior(
        float(km_prior.get("median_M", defaults.median_M)),
        float(km_prior.get("log10_sd", defaults.log10_sd)),
    )
    return KmReference(prior, used=km_prior.get("kind", "none") != "none")


def measured_km_values(km_space: pd.DataFrame) -> pd.DataFrame:
    """(name, low_M, high_M, source) of the measured Km in ``results/kinetic/parameters.csv``
    (rows with a ``source``; a value has equal bounds)."""
    columns = ["name", "low_M", "high_M", "source"]
    if SOURCE not in km_space:
        return pd.DataFrame(columns=columns)
    rows = km_space[km_space[SOURCE].fillna("").astype(str) != ""]
    return pd.DataFrame(
        {
            "name": rows["name"].to_numpy(),
            "low_M": np.exp(rows["ln_km_lower"].to_numpy(float)),
            "high_M": np.exp(rows["ln_km_upper"].to_numpy(float)),
            "source": rows[SOURCE].to_numpy(),
        }
    )


def bioreactor_panels(
    time_courses: pd.DataFrame, substrate: str | None, n_panels: int = 3
) -> list[str]:
    """Concentration columns to draw: the substrate first, then the metabolites whose
    concentration changes most (the main products)."""
    columns = [c for c in time_courses.columns if c.endswith(CONCENTRATION_SUFFIX)]
    first = [c for c in columns if substrate is not None and c == substrate + CONCENTRATION_SUFFIX]
    change = {
        c: float(
            (time_courses[c] - time_courses.groupby("model")[c].transform("first")).abs().max()
        )
        for c in columns
        if c not in first
    }
    return (first + sorted(change, key=change.get, reverse=True))[:n_panels]


def make_figures(
    inputs: Mapping[str, Sequence[str] | str],
    outputs: Mapping[str, str],
    validation: Mapping[str, Any] | None = None,
    adaptation_targets: Sequence[float] | None = None,
    km_prior: Mapping[str, Any] | None = None,
) -> None:
    """``inputs``: variability, histories, oracle, oracle_summaries, models, parameters,
    perturbation, trajectories (optional), incidence (lists of paths), bioreactor,
    bioreactor_summary and km_space (paths); with adaptation (optional) also
    adaptation_histories and adaptation_incidence, results/adaptation/{env}/seed{s}/ files.
    ``outputs``: PNG path per figure (thermo, training, lambda_max, km, perturbation,
    transfer, bioreactor); PDFs go beside. ``validation``: the run's ``tolerance`` and
    ``return_time_factor``, named in the perturbation figure's title, and
    ``bioreactor_environment``, named in the bioreactor figure's title.
    ``adaptation_targets``: incidences marked in the adaptation panels. ``km_prior``: the
    run's ``kinetics.km_prior`` (drawn in the Km figure; its defaults when not used)."""
    validation = validation or {}
    variability = {_env_of(p): read_csv(p) for p in inputs["variability"]}
    save_figure(plot_dg_ranges(variability), outputs["thermo"])
    adaptation = adaptation_histories(inputs["histories"], inputs.get("adaptation_histories", []))
    save_figure(
        plot_training_curves(
            training_histories(inputs["histories"]), adaptation, list(adaptation_targets or [])
        ),
        outputs["training"],
    )
    save_figure(
        plot_lambda_distributions(*lambda_max_values(inputs["models"], inputs["oracle"])),
        outputs["lambda_max"],
    )
    km_space = read_csv(inputs["km_space"])
    km_bounds = (
        float(np.exp(km_space["ln_km_lower"].min())),
        float(np.exp(km_space["ln_km_upper"].max())),
    )
    values = pd.concat([km_saturation_values(p) for p in inputs["parameters"]], ignore_index=True)
    save_figure(
        plot_km_saturation(
            values, km_bounds, km_reference(km_prior or {}), measured_km_values(km_space)
        ),
        outputs["km"],
    )
    trajectories = [read_csv(p).assign(env=_env_of(p)) for p in inputs.get("trajectories", [])]
    trajectories = [t for t in trajectories if not t.empty]
    save_figure(
        plot_return_fractions(
            return_fractions(inputs["perturbation"]),
            validation.get("tolerance"),
            validation.get("return_time_factor"),
            pd.concat(trajectories, ignore_index=True) if trajectories else None,
        ),
        outputs["perturbation"],
    )
    incidence = [*inputs["incidence"], *inputs.get("adaptation_incidence", [])]
    transfer = transfer_table(incidence, inputs["oracle_summaries"])
    save_figure(plot_transfer_matrix(transfer), outputs["transfer"])
    courses = read_csv(inputs["bioreactor"])
    substrates = read_csv(inputs["bioreactor_summary"])["substrate"].dropna()
    substrate = str(substrates.mode().iloc[0]) if len(substrates) else None
    save_figure(
        plot_bioreactor(
            courses,
            bioreactor_panels(courses, substrate),
            validation.get("bioreactor_environment"),
        ),
        outputs["bioreactor"],
    )


def training_histories(paths: Sequence[str]) -> dict[str, list[pd.DataFrame]]:
    """History tables per method (per-environment runs left out: other environments)."""
    histories: dict[str, list[pd.DataFrame]] = {}
    for path in paths:
        kind, _ = _run_of(path)
        if kind != "per-environment":
            histories.setdefault(kind, []).append(read_csv(path))
    return histories


def adaptation_histories(
    training_paths: Sequence[str], adapted_paths: Sequence[str]
) -> dict[str, dict[str, list[pd.DataFrame]]]:
    """Per adapted environment: the adaptation runs' histories and, beside them, those of the
    per-environment runs trained there from scratch (among ``training_paths``)."""
    runs: dict[str, dict[str, list[pd.DataFrame]]] = {}
    for path in adapted_paths:
        runs.setdefault(_run_of(path)[1], {"adapted": [], "from scratch": []})
        runs[_run_of(path)[1]]["adapted"].append(read_csv(path))
    for path in training_paths:
        kind, env = _run_of(path)
        if kind == "per-environment" and env in runs:
            runs[env]["from scratch"].append(read_csv(path))
    return runs


def lambda_max_values(
    model_paths: Sequence[str], oracle_paths: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, float]]:
    """Per environment: lambda_max of the unfiltered generated batch, of the ORACLE draws,
    and the median validity threshold."""
    oracle = {_env_of(p): read_csv(p)["lambda_max"].to_numpy(float) for p in oracle_paths}
    generated, thresholds = {}, {}
    for path in model_paths:
        models = read_csv(path)
        sampled = models[models["group"] == "sampled"]
        generated[_env_of(path)] = sampled["lambda_max"].to_numpy(float)
        thresholds[_env_of(path)] = float(models["threshold"].median())
    return generated, oracle, thresholds


def return_fractions(paths: Sequence[str]) -> pd.DataFrame:
    """Fraction of perturbations returned per environment, group and magnitude."""
    returns = []
    for path in paths:
        table = read_csv(path)
        fractions = table.groupby(["group", "magnitude"])["returned"].mean().reset_index()
        returns.append(
            fractions.rename(columns={"returned": "fraction_returned"}).assign(env=_env_of(path))
        )
    return pd.concat(returns)


def transfer_table(incidence_paths: Sequence[str], oracle_summaries: Sequence[str]) -> pd.DataFrame:
    """Incidence per environment and kind of run (generators on unseen and in-sample steady
    states, ORACLE), with each environment's split (train or heldout)."""
    rows = []
    for path in incidence_paths:
        kind, detail = _run_of(path)
        table = read_csv(path)
        table = table[~table["env"].astype(str).str.startswith("all:")]
        label = {
            "per-environment": f"per-environment ({detail})",
            "adapted": f"adapted ({detail})",
        }.get(kind, f"{kind} (one for all)")
        # Unseen steady states are the numbers to read; in-sample ones stand beside, labelled.
        rows += [
            {
                "env": r.env,
                "split": r.split,
                "kind": label if r.steady_states == "unseen" else f"{label}, in-sample",
                "incidence": r.incidence,
            }
            for r in table.itertuples()
        ]
    for path in oracle_summaries:
        summary = read_json(path)
        rows.append(
            {
                "env": _env_of(path),
                "split": np.nan,
                "kind": "ORACLE",
                "incidence": summary["incidence"],
            }
        )
    transfer = pd.DataFrame(rows)
    # Held out from the one-for-all generator wins: per-environment and adapted runs train
    # on the environment they are named after, and list it as train.
    held_out = transfer["env"].isin(transfer.loc[transfer["split"] == "heldout", "env"])
    splits = transfer.dropna(subset=["split"]).drop_duplicates("env").set_index("env")["split"]
    transfer["split"] = transfer["env"].map(splits).fillna("?").mask(held_out, "heldout")
    return transfer
