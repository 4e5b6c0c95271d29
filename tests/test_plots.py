"""Every figure is drawn from a tiny results folder, with labelled axes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from kinetigen.plots.make import make_figures

ENVS = ("env_a", "env_b")


def _tiny_results(root):
    rng = np.random.default_rng(0)
    inputs: dict[str, list[str] | str] = {
        key: []
        for key in (
            "variability",
            "histories",
            "incidence",
            "oracle",
            "oracle_summaries",
            "models",
            "perturbation",
        )
    }
    for env in ENVS:
        folder = root / "envs" / env
        folder.mkdir(parents=True)
        pd.DataFrame(
            {
                "variable": ["dg:R1", "dg:R2", "flux:R1"],
                "kind": ["dg", "dg", "flux"],
                "id": ["R1", "R2", "R1"],
                "minimum": [-30.0, -5.0, 0.1],
                "maximum": [-10.0, 4.0, 2.0],
            }
        ).to_csv(folder / "variability.csv", index=False)
        pd.DataFrame(
            {
                "sample": range(50),
                "steady_state": 0,
                "lambda_max": rng.normal(0, 20, 50),
                "valid": rng.random(50) < 0.4,
            }
        ).to_csv(folder / "oracle.csv", index=False)
        (folder / "oracle_summary.json").write_text(json.dumps({"incidence": 0.4}))
        validation = root / "validation" / env
        validation.mkdir(parents=True)
        pd.DataFrame(
            {
                "group": "sampled",
                "model": range(30),
                "steady_state": 0,
                "lambda_max": rng.normal(-10, 5, 30),
                "threshold": -1.0,
                "valid": True,
            }
        ).to_csv(validation / "models.csv", index=False)
        pd.DataFrame(
            {
                "group": ["generated", "oracle", "invalid"] * 2,
                "model": [0, 0, 0, 1, 1, 1],
                "magnitude": [0.1] * 3 + [0.5] * 3,
                "returned": [True, True, False, True, False, False],
            }
        ).to_csv(validation / "perturbation.csv", index=False)
        for key, name in (
            ("variability", "variability.csv"),
            ("oracle", "oracle.csv"),
            ("oracle_summaries", "oracle_summary.json"),
        ):
            inputs[key].append(str(folder / name))
        inputs["models"].append(str(validation / "models.csv"))
        inputs["perturbation"].append(str(validation / "perturbation.csv"))
    for run in ("trnes/seed0", "trnes/seed1", "per-environment/env_b/seed0"):
        folder = root / "training" / run
        folder.mkdir(parents=True)
        pd.DataFrame(
            {
                "generation": [1, 2, 3],
                "model_evaluations": [100, 200, 300],
                **{f"centre_incidence:{env}": [0.1, 0.5, 0.9] for env in ENVS},
            }
        ).to_csv(folder / "history.csv", index=False)
        pd.DataFrame(
            {"env": list(ENVS), "split": ["train", "heldout"], "incidence": [0.95, 0.2]}
        ).to_csv(folder / "incidence.csv", index=False)
        inputs["histories"].append(str(folder / "history.csv"))
        inputs["incidence"].append(str(folder / "incidence.csv"))
    courses = pd.DataFrame(
        {
            "model": np.repeat([0, 1], 5),
            "time_h": np.tile(np.arange(5.0), 2),
            "biomass_gDW_per_L": 0.05 * np.exp(np.tile(np.arange(5.0), 2) / 3),
            "glc__D_e_mmol_per_L": np.tile(np.linspace(20, 0, 5), 2),
        }
    )
    (root / "validation" / "bioreactor").mkdir(parents=True)
    courses.to_csv(root / "validation" / "bioreactor" / "time_courses.csv", index=False)
    inputs["bioreactor"] = str(root / "validation" / "bioreactor" / "time_courses.csv")
    return inputs


def test_every_figure_is_drawn_from_tiny_results(tmp_path):
    inputs = _tiny_results(tmp_path / "results")
    names = ("thermo", "training", "lambda_max", "perturbation", "transfer", "bioreactor")
    outputs = {name: str(tmp_path / "figures" / f"{name}.png") for name in names}
    make_figures(inputs, outputs)
    for path in outputs.values():
        png = tmp_path / "figures" / path.rsplit("/", 1)[1]
        assert png.stat().st_size > 5000  # a real picture, not an empty canvas
        assert png.with_suffix(".pdf").stat().st_size > 1000
