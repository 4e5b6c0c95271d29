"""Shared parameter space, ORACLE baseline and attainability screen on e_coli_core."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from kinetigen.kinetics import (
    BatchedJacobian,
    ParameterSpace,
    attainability,
    attainability_search,
    build_kinetic_model,
    kinetic_parameters,
    oracle_baseline,
    oracle_parameter_sets,
    oracle_sampling,
    split_steady_states,
)
from kinetigen.kinetics.split import SplitError
from kinetigen.kinetics.synthetic import synthetic_steady_states

ENVIRONMENTS = ("glucose_aerobic", "acetate_aerobic")


@pytest.fixture(scope="module")
def samples(_textbook, _default_config):
    return {
        env: synthetic_steady_states(
            _textbook, env, _default_config["environments"][env], _default_config, 4, seed=21
        )
        for env in ENVIRONMENTS
    }


# Four synthetic steady states per environment: two train, two evaluate.
SPLIT = {"n_train": 2, "n_evaluation": 2, "gap": 1}
TRAIN, EVALUATION = [0, 2], [1, 3]


@pytest.fixture(scope="module")
def models(_textbook, _default_config, samples):
    config = {**_default_config, "kinetics": {**_default_config["kinetics"], "split": SPLIT}}
    return {
        env: build_kinetic_model(_textbook, frame, config, env) for env, frame in samples.items()
    }


@pytest.fixture
def small_config(_default_config):
    config = dict(_default_config)
    config["kinetics"] = {
        "km_bounds_M": [1.0e-7, 0.5],
        "km_bounds_overrides_M": {"km_PGI_g6p_c": [1.0e-5, 1.0e-2]},
        "split": SPLIT,
        "attainability": {"max_evaluations": 150, "popsize": 10},
        "oracle": {"n_parameter_sets": 250, "batch_size": 100},
    }
    return config


@pytest.fixture
def small_model(_textbook, small_config, samples):
    """The glucose-aerobic model with the small search budgets of ``small_config``."""
    return build_kinetic_model(
        _textbook, samples["glucose_aerobic"], small_config, "glucose_aerobic"
    )


def test_shared_parameter_space(_textbook, small_config, samples, models):
    frame = kinetic_parameters(_textbook, samples, small_config)
    assert list(frame.columns) == [
        "name",
        "reaction",
        "metabolite",
        "role",
        "ln_km_lower",
        "ln_km_upper",
    ]
    union = set(models["glucose_aerobic"].parameter_names) | set(
        models["acetate_aerobic"].parameter_names
    )
    assert set(frame["name"]) == union and len(frame) == len(union)
    # Acetate uses reactions (glyoxylate shunt) that glucose does not, and vice versa.
    assert len(union) > max(len(m.parameters) for m in models.values())
    default = frame[frame["name"] != "km_PGI_g6p_c"]
    np.testing.assert_allclose(default["ln_km_lower"], math.log(1.0e-7))
    np.testing.assert_allclose(default["ln_km_upper"], math.log(0.5))
    row = frame.set_index("name").loc["km_PGI_g6p_c"]
    assert (row["ln_km_lower"], row["ln_km_upper"]) == pytest.approx(
        (math.log(1e-5), math.log(1e-2))
    )
    assert row["role"] == "substrate" and row["reaction"] == "PGI"
    # One shared vector serves both environments through their index maps.
    space = ParameterSpace(frame)
    rng = np.random.default_rng(0)
    shared = rng.uniform(space.lower, space.upper, size=(3, len(space)))
    for model in models.values():
        index = space.index_of(model)
        assert [space.names[i] for i in index] == model.parameter_names
        direct = BatchedJacobian(model).lambda_max(shared[:, index], [0, 1, 2])
        via_shared = BatchedJacobian(model, shared_index=index).lambda_max(shared, [0, 1, 2])
        np.testing.assert_array_equal(direct.numpy(), via_shared.numpy())
    # The table survives a CSV round trip.
    reread = ParameterSpace(pd.read_csv(io.StringIO(frame.to_csv(index=False))))
    np.testing.assert_allclose(reread.lower, space.lower)
    bad = dict(small_config, kinetics={"km_bounds_overrides_M": {"km_NOPE_x_c": [1e-6, 1e-3]}})
    with pytest.raises(ValueError, match="km_NOPE_x_c"):
        kinetic_parameters(_textbook, samples, bad)


def test_oracle_baseline(small_model, models):
    frame, summary = oracle_baseline(small_model, seed=4)
    assert len(frame) == 250 and frame["sample"].tolist() == list(range(250))
    assert set(frame.columns) >= {"sample", "steady_state", "lambda_max", "valid"}
    model = models["glucose_aerobic"]
    # Sample i uses evaluation steady state i mod S; validity compares with its threshold.
    used = np.asarray(EVALUATION)[np.arange(250) % 2]
    np.testing.assert_array_equal(frame["steady_state"], used)
    thresholds = model.threshold[used]
    np.testing.assert_array_equal(frame["valid"], frame["lambda_max"] < thresholds)
    assert summary["n"] == 250
    assert summary["incidence"] == pytest.approx(frame["valid"].mean())
    assert summary["wall_seconds"] > 0
    if summary["n_valid"]:
        assert summary["seconds_per_valid_model"] == pytest.approx(
            summary["wall_seconds"] / summary["n_valid"]
        )
    assert 0 < summary["n_valid"] < 250  # glucose-aerobic states are neither trivial nor hopeless
    # Seeded: the same seed gives the same draws; any draw can be regenerated by index.
    again, _ = oracle_sampling(model, 250, 100, seed=4)
    np.testing.assert_array_equal(again["lambda_max"], frame["lambda_max"])
    chosen = [3, 117, 249]
    positions, ln_km = oracle_parameter_sets(model, chosen, seed=4, batch_size=100, n_total=250)
    regenerated = BatchedJacobian(model).lambda_max(ln_km, positions).numpy()
    np.testing.assert_array_equal(regenerated, frame["lambda_max"].to_numpy()[chosen])
    other, _ = oracle_sampling(model, 250, 100, seed=5)
    assert not np.array_equal(other["lambda_max"], frame["lambda_max"])
    # Saturations are uniform: the mean saturation of the draws is about 1/2.
    saturation = model.saturation_from_ln_km(ln_km, positions)
    assert 0.4 < saturation.mean() < 0.6


def test_oracle_reports_draws_outside_bounds(models):
    model = models["glucose_aerobic"]
    lower = np.full(len(model.parameters), math.log(1e-9))
    upper = np.full(len(model.parameters), math.log(1e3))
    _, wide = oracle_sampling(model, 100, 100, seed=1, bounds=(lower, upper))
    _, narrow = oracle_sampling(model, 100, 100, seed=1, bounds=(lower + 15, upper - 15))
    assert wide["fraction_outside_km_bounds"] < narrow["fraction_outside_km_bounds"] == 1.0


def test_attainability(_textbook, small_config, samples, small_model, models):
    space = ParameterSpace(kinetic_parameters(_textbook, samples, small_config))
    table = attainability(small_model, seed=8, parameters=space.frame)
    assert list(table.columns[:4]) == ["steady_state", "threshold", "best_lambda_max", "attainable"]
    assert table["steady_state"].tolist() == TRAIN  # the training steady states only
    model = models["glucose_aerobic"]
    np.testing.assert_allclose(table["threshold"], model.threshold[TRAIN])
    np.testing.assert_array_equal(
        table["attainable"], table["best_lambda_max"] < table["threshold"]
    )
    assert (table["evaluations"] <= 150 + 10).all()
    # The search beats its starting point (all saturations 1/2) and the ORACLE draws it
    # would see with the same budget.
    evaluator = BatchedJacobian(model)
    for position, best in zip(TRAIN, table["best_lambda_max"], strict=True):
        half = model.ln_km_from_saturation(np.full((1, len(model.parameters)), 0.5), [position])
        assert best < evaluator.lambda_max(half, position).item()
        rng = np.random.default_rng(position)
        random = model.ln_km_from_saturation(
            rng.uniform(size=(150, len(model.parameters))), [position] * 150
        )
        assert best < evaluator.lambda_max(random, [position] * 150).min().item()
    # Reproducible from the seed.
    index = space.index_of(model)
    bounds = (space.lower[index], space.upper[index])
    again = attainability_search(
        model, TRAIN, seed=8, bounds=bounds, max_evaluations=150, popsize=10
    )
    np.testing.assert_array_equal(again["best_lambda_max"], table["best_lambda_max"])


def test_split_is_disjoint_spread_and_keeps_its_gap():
    split = split_steady_states(1000, 100, 20, gap=15)
    assert len(split.train) == 100 and len(set(split.train)) == 100
    assert len(split.evaluation) == 20
    np.testing.assert_array_equal(split.evaluation, np.arange(25, 1000, 50))
    # Both sets span the chain; every evaluation state is at least the gap (15 samples, where
    # the chain's autocorrelation has fallen to a few per cent) from every training state.
    for positions in (split.train, split.evaluation):
        assert positions.min() <= 30 and positions.max() >= 970
    gaps = np.abs(split.evaluation[:, None] - split.train[None, :]).min(axis=1)
    assert gaps.min() >= 15
    small = split_steady_states(4, 2, 2, gap=1)
    np.testing.assert_array_equal(small.train, [0, 2])
    np.testing.assert_array_equal(small.evaluation, [1, 3])
    with pytest.raises(SplitError, match=r"'acetate'.*kinetics.split"):
        split_steady_states(100, 90, 5, gap=15, environment="acetate")


def test_split_of_a_thinned_chain_measures_the_gap_along_the_chain():
    """After the slow-pool screen the rows are every other sample: the gap counts chain
    steps, the evaluation rows sit where the full chain's would, and a full chain splits as
    without chain positions."""
    chain = np.arange(0, 2000, 2)
    split = split_steady_states(1000, 100, 20, gap=15, chain=chain)
    np.testing.assert_array_equal(chain[split.evaluation], np.arange(50, 2000, 100))
    gaps = np.abs(chain[split.evaluation][:, None] - chain[split.train][None, :]).min(axis=1)
    assert gaps.min() >= 15
    full = split_steady_states(1000, 100, 20, gap=15, chain=np.arange(1000))
    plain = split_steady_states(1000, 100, 20, gap=15)
    np.testing.assert_array_equal(full.train, plain.train)
    np.testing.assert_array_equal(full.evaluation, plain.evaluation)
    # A stretch the screen emptied: two targets (12 and 37) fall on the same first row.
    holed = np.r_[np.arange(10), np.arange(60, 100)]
    split = split_steady_states(len(holed), 5, 4, gap=1, chain=holed)
    np.testing.assert_array_equal(holed[split.evaluation], [60, 61, 62, 87])
    with pytest.raises(SplitError, match="ascend"):
        split_steady_states(3, 1, 1, chain=[0, 2, 1])


# Measured Km (kinetics.measured_km): two fixed values and two ranges of glycolytic enzymes.
MEASURED = [
    {"reaction": "PGI", "metabolite": "g6p_c", "value_M": 2.9e-3, "source": "test: fixed"},
    {"reaction": "PFK", "metabolite": "f6p_c", "range_M": [3e-5, 1e-3], "source": "test: range"},
    {"reaction": "GAPD", "metabolite": "g3p_c", "range_M": [1e-4, 2e-3], "source": "test: range"},
    {"reaction": "PYK", "metabolite": "pep_c", "value_M": 1e-3, "source": "test: fixed"},
]


@pytest.fixture
def measured_config(small_config):
    return dict(small_config, kinetics={**small_config["kinetics"], "measured_km": MEASURED})


def assert_honours_measured(names, ln_km):
    """Every row of ln Km [n, len(names)] holds each measured value exactly (as ln of it) and
    keeps each measured range."""
    ln_km = np.asarray(ln_km)
    checked = 0
    for entry in MEASURED:
        name = f"km_{entry['reaction']}_{entry['metabolite']}"
        if name not in names:
            continue
        column = ln_km[:, list(names).index(name)]
        if "value_M" in entry:
            assert (column == math.log(entry["value_M"])).all(), name
            np.testing.assert_allclose(np.exp(column), entry["value_M"], rtol=1e-15)
        else:
            low, high = entry["range_M"]
            assert (column >= math.log(low)).all() and (column <= math.log(high)).all(), name
            assert column.max() - column.min() > 0.5, name  # a range, not one point
        checked += 1
    assert checked >= 3


def test_measured_km_narrow_the_parameter_space(_textbook, small_config, measured_config, samples):
    free = kinetic_parameters(_textbook, samples, small_config)
    frame = kinetic_parameters(_textbook, samples, measured_config)
    assert list(frame.columns) == [*free.columns, "source"]
    pd.testing.assert_frame_equal(
        frame[free.columns].drop(columns=["ln_km_lower", "ln_km_upper"]),
        free.drop(columns=["ln_km_lower", "ln_km_upper"]),
    )
    rows = frame.set_index("name")
    for entry in MEASURED:
        row = rows.loc[f"km_{entry['reaction']}_{entry['metabolite']}"]
        low, high = entry["range_M"] if "range_M" in entry else [entry["value_M"]] * 2
        assert (row["ln_km_lower"], row["ln_km_upper"]) == (math.log(low), math.log(high))
        assert row["source"] == entry["source"]
    others = ~frame["name"].isin([f"km_{e['reaction']}_{e['metabolite']}" for e in MEASURED])
    assert (frame.loc[others, "source"] == "").all()
    pd.testing.assert_frame_equal(frame[others][free.columns], free[others.to_numpy()])
    # After a CSV round trip (which may move a float by one ulp), the settings restore the
    # measured bounds exactly; nothing else changes.
    reread = ParameterSpace(pd.read_csv(io.StringIO(frame.to_csv(index=False))))
    exact = reread.with_measured(measured_config)
    np.testing.assert_array_equal(exact.lower, frame["ln_km_lower"])
    np.testing.assert_array_equal(exact.upper, frame["ln_km_upper"])
    np.testing.assert_allclose(reread.lower, exact.lower, rtol=1e-15)
    space = ParameterSpace(free)
    assert space.with_measured(small_config) is space


def test_generated_models_honour_measured_km(_textbook, measured_config, samples):
    import torch

    from kinetigen.generator import Generator
    from kinetigen.generator.model import flatten_parameters, forward_population

    space = ParameterSpace(kinetic_parameters(_textbook, samples, measured_config))
    # A large output scale drives tanh to both ends: every bound is reached or nearly so.
    generator = Generator(
        space.lower, space.upper, latent_dim=4, hidden=(8,), seed=3, output_init_scale=5.0
    )
    draws = generator.sample(500, generator=torch.Generator().manual_seed(0)).numpy()
    assert_honours_measured(space.names, draws)
    # So does every member of an evolution strategy's population, whatever its weights.
    flat = flatten_parameters(generator)
    population = flat + 3.0 * torch.randn(6, len(flat), generator=torch.Generator().manual_seed(1))
    z = torch.randn(50, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    members = forward_population(generator, population, z).reshape(-1, len(space)).numpy()
    assert_honours_measured(space.names, members)


def test_oracle_draws_honour_measured_km(_textbook, models, measured_config, samples):
    env = "glucose_aerobic"
    table = kinetic_parameters(_textbook, samples, measured_config)
    table = pd.read_csv(io.StringIO(table.to_csv(index=False)))  # as the workflow reads it
    model = build_kinetic_model(_textbook, samples[env], measured_config, env)
    frame, summary = oracle_baseline(model, seed=4, parameters=table)
    positions, ln_km = oracle_parameter_sets(model, range(250), seed=4, batch_size=100, n_total=250)
    assert_honours_measured(model.parameter_names, ln_km)
    # Draws outside the bounds are counted against the exact measured ranges.
    space = ParameterSpace(table).with_measured(measured_config)
    index = space.index_of(model)
    outside = (ln_km < space.lower[index]) | (ln_km > space.upper[index])
    assert summary["fraction_outside_km_bounds"] == outside.any(axis=1).mean()
    measured = [
        model.parameter_names.index(f"km_{e['reaction']}_{e['metabolite']}") for e in MEASURED
    ]
    assert not outside[:, measured].any()
    regenerated = BatchedJacobian(model).lambda_max(ln_km, positions).numpy()
    np.testing.assert_array_equal(regenerated, frame["lambda_max"])
    # The other parameters keep the unrestricted draws (same random numbers).
    free = models[env]
    assert free.parameter_names == model.parameter_names
    _, free_ln_km = oracle_parameter_sets(free, range(250), seed=4, batch_size=100, n_total=250)
    others = [i for i in range(len(model.parameter_names)) if i not in measured]
    np.testing.assert_array_equal(ln_km[:, others], free_ln_km[:, others])
    # A range's saturations are uniform between their values at its ends.
    column = model.parameter_names.index("km_PFK_f6p_c")
    saturation = model.saturation_from_ln_km(ln_km, positions)[:, column]
    ln_x = model.ln_concentration[positions, model.layout.param_metabolite[column]]
    least = 1 / (1 + np.exp(math.log(1e-3) - ln_x))
    most = 1 / (1 + np.exp(math.log(3e-5) - ln_x))
    fraction = (saturation - least) / (most - least)
    assert fraction.min() >= -1e-9 and fraction.max() <= 1 + 1e-9
    assert 0.4 < fraction.mean() < 0.6


def test_attainability_honours_measured_km(_textbook, measured_config, samples, monkeypatch):
    from kinetigen.kinetics import screening

    seen = []
    evaluate = screening.BatchedJacobian.lambda_max

    def recording(self, ln_km, positions):
        seen.append(np.array(ln_km, dtype=float))
        return evaluate(self, ln_km, positions)

    monkeypatch.setattr(screening.BatchedJacobian, "lambda_max", recording)
    env = "glucose_aerobic"
    space = ParameterSpace(kinetic_parameters(_textbook, samples, measured_config))
    model = build_kinetic_model(_textbook, samples[env], measured_config, env)
    table = attainability(model, seed=8, parameters=space.frame)
    assert np.isfinite(table["best_lambda_max"]).all()
    assert_honours_measured(model.parameter_names, np.concatenate(seen))
    # Without the table, the search takes the configured bounds, measured ones included.
    seen.clear()
    attainability_search(model, TRAIN, seed=8, max_evaluations=60, popsize=10)
    assert_honours_measured(model.parameter_names, np.concatenate(seen))


def test_measured_km_outside_every_kinetic_model_is_named(_textbook, small_config, samples):
    # Phosphate is a small molecule: it enters GAPD's (reversible) law only through Gamma.
    entry = {"reaction": "GAPD", "metabolite": "pi_c", "value_M": 1e-3, "source": "x"}
    config = dict(small_config, kinetics={**small_config["kinetics"], "measured_km": [entry]})
    with pytest.raises(
        ValueError,
        match=r"'kinetics.measured_km\[0\]': Km of 'pi_c' in 'GAPD' \(km_GAPD_pi_c\) is not a "
        r"parameter of any environment's kinetic model",
    ):
        kinetic_parameters(_textbook, samples, config)


# The Km prior (kinetics.km_prior): ORACLE's Km follow it, inside the bounds; measured Km stay.
PRIOR = {"kind": "lognormal", "median_M": 1.0e-4, "log10_sd": 1.0}


def test_oracle_draws_follow_the_km_prior(_textbook, measured_config, samples):
    import scipy.stats

    env = "glucose_aerobic"
    config = dict(measured_config, kinetics={**measured_config["kinetics"], "km_prior": PRIOR})
    model = build_kinetic_model(_textbook, samples[env], config, env)
    prior = model.settings.km_prior
    _, ln_km = oracle_parameter_sets(model, range(250), seed=4, batch_size=100, n_total=250)
    assert_honours_measured(model.parameter_names, ln_km)
    bounds = np.array([model.settings.ln_km_bounds(n) for n in model.parameter_names])
    assert (ln_km >= bounds[:, 0]).all() and (ln_km <= bounds[:, 1]).all()
    # The parameters with the global bounds [1e-7, 0.5] M: the truncated log-normal (fixed seed).
    free = [
        i
        for i, name in enumerate(model.parameter_names)
        if name not in model.settings.measured and name != "km_PGI_g6p_c"
    ]
    a, b = prior.z(np.log(1.0e-7)), prior.z(np.log(0.5))
    test = scipy.stats.kstest(prior.z(ln_km[:, free]).ravel(), scipy.stats.truncnorm(a, b).cdf)
    assert test.pvalue > 0.01
    # Without the prior the draws are ORACLE's uniform saturations, as before.
    plain = build_kinetic_model(_textbook, samples[env], measured_config, env)
    _, uniform = oracle_parameter_sets(plain, range(250), seed=4, batch_size=100, n_total=250)
    assert scipy.stats.kstest(prior.z(uniform[:, free]).ravel(), "norm").pvalue < 1e-6


def test_generator_output_range_from_the_prior_honours_measured_km(
    _textbook, measured_config, samples
):
    import torch

    from kinetigen.es.kinetic import new_generator
    from kinetigen.settings import WorkflowSettings

    table = kinetic_parameters(_textbook, samples, measured_config)
    sections = {key: measured_config[key] for key in ("physiology", "biomass_reaction")}
    config = WorkflowSettings.from_section(
        sections
        | {
            "kinetics": {**measured_config["kinetics"], "km_prior": PRIOR},
            # The ln Km output range (saturation space has its own test below).
            "generator": {
                "output_space": "ln_km",
                "output_range": "prior",
                "output_init_scale": 5.0,
            },
        }
    )
    generator = new_generator(config, table, conditional=False, seed=0)
    names = table["name"].tolist()
    free = ~table["name"].isin([f"km_{e['reaction']}_{e['metabolite']}" for e in MEASURED])
    free &= table["name"] != "km_PGI_g6p_c"
    np.testing.assert_allclose(np.exp(generator.lower.numpy()[free]), 1e-6, rtol=1e-12)
    np.testing.assert_allclose(np.exp(generator.upper.numpy()[free]), 1e-2, rtol=1e-12)
    draws = generator.sample(500, generator=torch.Generator().manual_seed(0)).numpy()
    assert (draws >= generator.lower.numpy()).all() and (draws <= generator.upper.numpy()).all()
    assert_honours_measured(names, draws)
    # The default output range is the parameter space's bounds, as before.
    default = new_generator(
        WorkflowSettings.from_section(
            sections
            | {"kinetics": measured_config["kinetics"], "generator": {"output_space": "ln_km"}}
        ),
        table,
        conditional=False,
        seed=0,
    )
    exact = ParameterSpace(table).with_measured(measured_config)
    np.testing.assert_array_equal(default.lower.numpy(), exact.lower)
    np.testing.assert_array_equal(default.upper.numpy(), exact.upper)


def test_generator_in_saturation_space_honours_measured_km_and_its_saturations(
    _textbook, measured_config, samples, tmp_path
):
    import torch

    from kinetigen.es.kinetic import new_generator
    from kinetigen.generator import load_generator, save_generator
    from kinetigen.settings import WorkflowSettings
    from kinetigen.validation.ensembles import generated_models

    env = "glucose_aerobic"
    table = kinetic_parameters(_textbook, samples, measured_config)
    sections = {key: measured_config[key] for key in ("physiology", "biomass_reaction")}
    generator_section = {"output_space": "saturation", "saturation_range": [0.05, 0.95]}
    config = WorkflowSettings.from_section(
        sections
        | {
            "kinetics": measured_config["kinetics"],
            "generator": generator_section | {"output_init_scale": 5.0},
        }
    )
    generator = new_generator(config, table, conditional=False, seed=0)
    model = build_kinetic_model(_textbook, samples[env], measured_config, env)
    space = ParameterSpace(table).with_measured(measured_config)

    def draw(source):  # what validation and analysis read: all models, valid or not
        return generated_models(
            source, None, model, samples[env], space, [0, 1, 2, 3], 400, 5, False, 100, 400
        )

    drawn = draw(generator)
    assert_honours_measured(model.parameter_names, drawn.ln_km)
    index = space.index_of(model)
    lower, upper = space.lower[index], space.upper[index]
    assert (drawn.ln_km >= lower).all() and (drawn.ln_km <= upper).all()
    # Where the saturation interval lies inside the Km bounds (and the Km is not measured),
    # the saturations are in range.
    ln_x = model.ln_concentration[drawn.positions][:, model.layout.param_metabolite]
    inside = (ln_x + math.log(19) < upper) & (ln_x - math.log(19) > lower)
    inside &= ~np.isin(
        model.parameter_names, [f"km_{e['reaction']}_{e['metabolite']}" for e in MEASURED]
    )
    saturation = model.saturation_from_ln_km(drawn.ln_km, drawn.positions)
    assert inside.mean() > 0.8
    assert saturation[inside].min() >= 0.05 - 1e-9 and saturation[inside].max() <= 0.95 + 1e-9
    # A saved generator draws the same Km.
    save_generator(tmp_path / "generator.pt", generator)
    again = draw(load_generator(tmp_path / "generator.pt")[0])
    np.testing.assert_array_equal(again.ln_km, drawn.ln_km)
    assert torch.equal(torch.as_tensor(again.lambda_max), torch.as_tensor(drawn.lambda_max))
