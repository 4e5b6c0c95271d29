"""Every figure is drawn from a tiny results folder, with labelled axes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from kinetigen.kinetics.synthetic import toy_kinetic_model
from kinetigen.plots.figures import plot_km_saturation
from kinetigen.plots.make import (
    bioreactor_panels,
    km_reference,
    km_saturation_values,
    make_figures,
    measured_km_values,
)
from kinetigen.validation.ensembles import ModelSet

ENVS = ("env_a", "env_b")
FIGURES = ("thermo", "training", "lambda_max", "km", "perturbation", "transfer", "bioreactor")


def _toy_model_sets(rng):
    """Generated and ORACLE-valid model sets of the toy kinetic model (two steady states)."""
    model = toy_kinetic_model(2)
    sets = []
    for group, n in (("generated", 20), ("oracle", 10), ("slow", 5), ("unstable", 5)):
        positions = np.arange(n) % 2
        saturation = rng.uniform(0.01, 0.99, size=(n, len(model.parameters)))
        sets.append(
            ModelSet(
                group,
                positions,
                model.ln_km_from_saturation(saturation, positions),
                rng.normal(-10, 2, n),
                model.threshold[positions],
            )
        )
    return model, sets


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
            "parameters",
            "perturbation",
            "trajectories",
        )
    }
    model, model_sets = _toy_model_sets(rng)
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
                "group": ["generated", "oracle", "slow", "unstable"] * 2,
                "model": [0, 0, 0, 0, 1, 1, 1, 1],
                "magnitude": [0.1] * 4 + [0.5] * 4,
                "returned": [True, True, False, False, True, False, False, False],
            }
        ).to_csv(validation / "perturbation.csv", index=False)
        times = np.linspace(0.0, 2.0, 11)
        pd.DataFrame(
            [
                {
                    "group": group,
                    "model": 0,
                    "magnitude": magnitude,
                    "time_h": 3.0 * t,
                    "time_per_return_time": t,
                    "deviation": magnitude * np.exp(-rate * t),
                }
                for group, rate in (("generated", 6.0), ("oracle", 5.0), ("slow", 1.0))
                for magnitude in (0.1, 0.5)
                for t in times
            ]
        ).to_csv(validation / "trajectories.csv", index=False)
        for key, name in (
            ("variability", "variability.csv"),
            ("oracle", "oracle.csv"),
            ("oracle_summaries", "oracle_summary.json"),
        ):
            inputs[key].append(str(folder / name))
        pd.concat([s.parameter_table(model) for s in model_sets]).to_parquet(
            validation / "parameters.parquet"
        )
        inputs["models"].append(str(validation / "models.csv"))
        inputs["parameters"].append(str(validation / "parameters.parquet"))
        inputs["perturbation"].append(str(validation / "perturbation.csv"))
        inputs["trajectories"].append(str(validation / "trajectories.csv"))
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
            {
                "env": ["env_a", "env_b", "env_a"],
                "split": ["train", "heldout", "train"],
                "steady_states": ["unseen", "unseen", "training"],
                "incidence": [0.93, 0.2, 0.97],
            }
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
    bioreactor = root / "validation" / "bioreactor"
    bioreactor.mkdir(parents=True)
    courses.to_csv(bioreactor / "time_courses.csv", index=False)
    pd.DataFrame({"model": [0, 1], "substrate": "glc__D_e"}).to_csv(
        bioreactor / "summary.csv", index=False
    )
    inputs["bioreactor"] = str(bioreactor / "time_courses.csv")
    inputs["bioreactor_summary"] = str(bioreactor / "summary.csv")
    (root / "kinetic").mkdir()
    pd.DataFrame(
        {
            "name": model.parameter_names,
            "ln_km_lower": np.log(1e-8),
            "ln_km_upper": 0.0,
        }
    ).to_csv(root / "kinetic" / "parameters.csv", index=False)
    inputs["km_space"] = str(root / "kinetic" / "parameters.csv")
    return inputs


def test_every_figure_is_drawn_from_tiny_results(tmp_path):
    inputs = _tiny_results(tmp_path / "results")
    outputs = {name: str(tmp_path / "figures" / f"{name}.png") for name in FIGURES}
    make_figures(inputs, outputs, {"tolerance": 0.01, "return_time_factor": 1.0})
    for path in outputs.values():
        png = tmp_path / "figures" / path.rsplit("/", 1)[1]
        assert png.stat().st_size > 5000  # a real picture, not an empty canvas
        assert png.with_suffix(".pdf").stat().st_size > 1000


def test_km_saturation_values_line_up_with_the_model(tmp_path):
    """The long table of the km figure: log10 Km in mol/L and sigma = x/(x+Km) per model and
    parameter, for the generated and ORACLE-valid groups only."""
    model, model_sets = _toy_model_sets(np.random.default_rng(1))
    path = tmp_path / "validation" / "toy" / "parameters.parquet"
    path.parent.mkdir(parents=True)
    pd.concat([s.parameter_table(model) for s in model_sets]).to_parquet(path)
    values = km_saturation_values(str(path))
    assert set(values["env"]) == {"toy"}
    assert set(values["group"]) == {"generated", "oracle"}
    assert len(values) == (20 + 10) * len(model.parameters)
    generated = model_sets[0]
    row = values[(values["group"] == "generated") & (values["model"] == 3)].set_index("parameter")
    parameters = model.parameter_names
    np.testing.assert_allclose(row.loc[parameters, "log10_km_M"], generated.ln_km[3] / np.log(10.0))
    concentration = np.exp(model.ln_concentration[generated.positions[3]])
    concentration = concentration[model.layout.param_metabolite]
    np.testing.assert_allclose(
        row.loc[parameters, "saturation"],
        concentration / (concentration + np.exp(generated.ln_km[3])),
    )


def test_km_figure_draws_the_prior_and_measured_km(tmp_path):
    """The prior's reference ranges and the fraction near them; measured Km read from the
    Km space (a value: equal bounds; a range), the others left out."""
    reference = km_reference({})
    assert not reference.used
    np.testing.assert_allclose(reference.central_range_M, (1e-5, 1e-3))
    np.testing.assert_allclose(reference.factor_ten_range_M, (1e-6, 1e-2))
    assert reference.fraction_within_factor_ten(np.array([-7.0, -6.0, -4.0, -2.0, -1.0])) == 0.6
    used = km_reference({"kind": "lognormal", "median_M": 1e-3, "log10_sd": 0.5})
    assert used.used
    np.testing.assert_allclose(used.factor_ten_range_M, (10**-4.5, 10**-1.5))
    space = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "ln_km_lower": np.log([1e-8, 2e-4, 1e-5]),
            "ln_km_upper": np.log([1.0, 2e-4, 1e-4]),
            "source": ["", "a paper", "a database"],
        }
    )
    measured = measured_km_values(space)
    assert measured["name"].tolist() == ["b", "c"]
    np.testing.assert_allclose(measured["low_M"], [2e-4, 1e-5])
    np.testing.assert_allclose(measured["high_M"], [2e-4, 1e-4])
    assert measured_km_values(space.drop(columns="source")).empty
    rng = np.random.default_rng(0)
    values = pd.DataFrame(
        {
            "env": "toy",
            "group": np.repeat(["generated", "oracle"], 50),
            "model": np.tile(np.arange(10), 10),
            "log10_km_M": rng.uniform(-8, 0, 100),
            "saturation": rng.uniform(0, 1, 100),
        }
    )
    figure = plot_km_saturation(values, (1e-8, 1.0), reference, measured)
    labels = [label.get_text() for label in figure.axes[1].get_xticklabels()]
    fractions = [
        reference.fraction_within_factor_ten(values.loc[values["group"] == g, "log10_km_M"])
        for g in ("generated", "oracle")
    ]
    assert labels == [f"toy\nn = 10 | 10\nnear prior: {fractions[0]:.2f} | {fractions[1]:.2f}"]
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "literature Km prior (not sampled), central: 10 uM-1 mM" in legend
    assert "factor 10 wider: 1 uM-10 mM" in legend and "measured Km" in legend


def test_bioreactor_panels_put_the_substrate_first():
    """The substrate is drawn even when three other metabolites come before it."""
    time = np.arange(3.0)
    courses = pd.DataFrame(
        {
            "model": 0,
            "time_h": time,
            "ac_e_mmol_per_L": 5 * time,
            "etoh_e_mmol_per_L": 0.1 * time,
            "for_e_mmol_per_L": 8 * time,
            "glc__D_e_mmol_per_L": 20 - 9 * time,
        }
    )
    assert bioreactor_panels(courses, "glc__D_e") == [
        "glc__D_e_mmol_per_L",
        "for_e_mmol_per_L",
        "ac_e_mmol_per_L",
    ]


def test_fold_axis_is_labelled_when_it_spans_less_than_a_decade():
    """A log axis labels only decades: a panel of folds 0.93-1.08 had no numbers at all."""
    import matplotlib.pyplot as plt

    from kinetigen.plots.analysis import _label_fold_axis

    for low, high in ((0.93, 1.08), (0.3, 40.0)):
        figure, axis = plt.subplots()
        axis.plot([0, 1], [low, high])
        _label_fold_axis(axis)
        bottom, top = axis.get_ylim()
        shown = [t for t in axis.get_yticks() if bottom <= t <= top]
        labels = [label.get_text() for label in axis.get_yticklabels()]
        assert len(shown) >= 2 and all(labels)
        plt.close(figure)


def _adaptation_results(root, inputs):
    """Adaptation runs of env_b (generation 0: zero-shot) and a from-scratch run of env_b
    with the same monitor column, as the workflow writes them with adaptation configured."""
    column = "monitor_incidence:env_b"
    scratch = root / "training" / "per-environment" / "env_b" / "seed0" / "history.csv"
    pd.read_csv(scratch).assign(**{column: [0.05, 0.3, 0.85]}).to_csv(scratch, index=False)
    adapted = {"histories": [], "incidence": []}
    for seed in (0, 1):
        folder = root / "adaptation" / "env_b" / f"seed{seed}"
        folder.mkdir(parents=True)
        pd.DataFrame(
            {"generation": [0, 1, 2], "model_evaluations": [0, 50, 100], column: [0.2, 0.7, 0.9],
             "monitor_spread:env_b": [1.1, 0.6, 0.2]}
        ).to_csv(folder / "history.csv", index=False)  # fmt: skip
        pd.DataFrame(
            {"env": ["env_b", "env_b"], "split": "train", "steady_states": ["unseen", "training"],
             "incidence": [0.9, 0.95]}
        ).to_csv(folder / "incidence.csv", index=False)  # fmt: skip
        adapted["histories"].append(str(folder / "history.csv"))
        adapted["incidence"].append(str(folder / "incidence.csv"))
    return dict(
        inputs,
        adaptation_histories=adapted["histories"],
        adaptation_incidence=adapted["incidence"],
    )


def test_adaptation_adds_a_training_panel_and_transfer_columns(tmp_path):
    from kinetigen.plots.make import adaptation_histories, transfer_table

    inputs = _adaptation_results(tmp_path / "results", _tiny_results(tmp_path / "results"))
    runs = adaptation_histories(inputs["histories"], inputs["adaptation_histories"])
    assert list(runs) == ["env_b"]
    assert [len(runs["env_b"][kind]) for kind in ("adapted", "from scratch")] == [2, 1]
    transfer = transfer_table(
        inputs["incidence"] + inputs["adaptation_incidence"], inputs["oracle_summaries"]
    )
    row = transfer[transfer["env"] == "env_b"].groupby("kind")["incidence"].mean()
    assert row["adapted (env_b)"] == 0.9 and row["adapted (env_b), in-sample"] == 0.95
    assert row["trnes (one for all)"] == 0.2 and row["ORACLE"] == 0.4  # zero-shot beside
    assert set(transfer.loc[transfer["env"] == "env_b", "split"]) == {"heldout"}

    import matplotlib.pyplot as plt

    from kinetigen.plots.figures import plot_training_curves, plot_transfer_matrix
    from kinetigen.plots.make import training_histories

    figure = plot_training_curves(training_histories(inputs["histories"]), runs, [0.9, 0.8])
    panel = figure.axes[1]
    assert panel.get_xlabel() == "model evaluations (thousands of Jacobians)"
    assert panel.get_ylabel() == "incidence on unseen steady states"
    labels = [text.get_text() for text in panel.get_legend().get_texts()]
    assert labels == [
        "adapted: the one-for-all generator fine-tuned (n=2)",
        "per-environment generator from scratch (n=1)",
        "Km spread, adapted (right axis)",  # the from-scratch history records none here
    ]
    spread_axis = figure.axes[2]
    assert spread_axis.get_ylabel() == "Km spread (sd of ln Km at a steady state)"
    x, y = spread_axis.get_lines()[0].get_data()
    assert (x[0], y[0], x[-1], y[-1]) == (0.0, 1.1, 0.1, 0.2)
    # Adapted median from the zero-shot start: 0.2 at 0 evaluations, 0.9 at 100 thousand.
    x, y = panel.get_lines()[0].get_data()
    assert (x[0], y[0], x[-1], y[-1]) == (0.0, 0.2, 0.1, 0.9)
    plt.close(figure)
    axis = plot_transfer_matrix(transfer).axes[0]
    assert "adapted = fine-tuned from it" in axis.get_title()
    # Zero-shot, adapted, from scratch, ORACLE, then the in-sample columns; held-out rows last.
    columns = [label.get_text() for label in axis.get_xticklabels()]
    assert columns[:2] == ["trnes (one for all)", "adapted (env_b)"]
    assert columns.index("ORACLE") < columns.index("trnes (one for all), in-sample")
    assert axis.get_yticklabels()[-1].get_text() == "env_b (heldout)"
    # The split comes from the one-for-all runs, whichever table is read first.
    first = transfer_table(
        inputs["adaptation_incidence"] + inputs["incidence"], inputs["oracle_summaries"]
    )
    assert set(first.loc[first["env"] == "env_b", "split"]) == {"heldout"}
    plt.close("all")
    outputs = {name: str(tmp_path / "figures" / f"{name}.png") for name in FIGURES}
    make_figures(inputs, outputs, {"tolerance": 0.01, "return_time_factor": 1.0}, [0.9])
    assert (tmp_path / "figures" / "training.png").stat().st_size > 5000


def test_training_curve_keeps_each_environment_at_its_latest_score():
    """With environment subsets a generation scores some environments only (NaN for the
    others): the worst environment is read with each at its latest score."""
    import matplotlib.pyplot as plt

    from kinetigen.plots.figures import plot_training_curves

    history = pd.DataFrame(
        {"generation": [0, 1, 2], "model_evaluations": [0.0, 1e6, 2e6],
         "centre_incidence:a": [0.1, np.nan, 0.5], "centre_incidence:b": [0.9, 0.2, np.nan]}
    )  # fmt: skip
    figure = plot_training_curves({"trnes": [history]})
    x, y = figure.axes[0].get_lines()[0].get_data()
    # Generation 2: a scored 0.5, b still at its 0.2 (ignoring the gap would give 0.5).
    assert (x[-1], y[-1]) == (2.0, 0.2)
    assert np.isclose(y[0], 0.1)
    plt.close(figure)
