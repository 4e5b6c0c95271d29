"""Adaptation to a new environment (issue 12): fine-tuning from a trained generator, its
generation-0 zero-shot row, kill-and-resume, and the side-by-side summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from kinetigen.es import build_optimizer, config_hash, load_checkpoint, train
from kinetigen.es.adaptation import adaptation_summary, adapted_options
from kinetigen.generator import flatten_parameters
from kinetigen.settings import RenaissanceSettings, SepCMASettings, TRNESSettings

TRAIN = ["toy_glucose", "toy_acetate", "toy_succinate"]
NEW = ["toy_pyruvate"]


class Killed(RuntimeError):
    pass


@pytest.fixture(scope="module")
def trained(toy, make_toy_problem):
    """A conditional generator trained on TRAIN (the start of every adaptation here)."""
    problem, _ = make_toy_problem(toy, TRAIN, "conditional", 2, 20, (16,), seed=0, fit_on=TRAIN)
    optimizer = build_optimizer("trnes", flatten_parameters(problem.generator), seed=0)
    return train(problem, optimizer, max_generations=20).weights


def test_adaptation_starts_from_the_trained_generator_improves_and_resumes(
    toy, trained, make_toy_problem, tmp_path
):
    def fresh():
        # The new environment, conditioned by the encoder fitted on the training ones.
        problem, _ = make_toy_problem(toy, NEW, "conditional", 2, 20, (16,), seed=0, fit_on=TRAIN)
        options = adapted_options(TRNESSettings(), 0.01)
        return problem, build_optimizer("trnes", trained, seed=5, options=options)

    def run(problem, optimizer, **kwargs):
        return train(
            problem, optimizer, 10, monitor_models=200, monitor_seed=3, monitor_start=True,
            checkpoint_every=3, **kwargs,
        )  # fmt: skip

    problem, optimizer = fresh()
    straight = run(problem, optimizer)
    history = straight.history
    column = "monitor_incidence:toy_pyruvate"
    assert history["generation"].tolist() == list(range(11))
    assert history["model_evaluations"].iloc[0] == 0
    # Generation 0 is the zero-shot incidence of the trained weights on the monitor batch.
    batch = problem.sample_batch(torch.Generator().manual_seed(3), 200)
    zero_shot = float(problem.evaluate(trained.reshape(1, -1), batch).incidence[0, 0])
    assert history[column].iloc[0] == zero_shot
    assert history[column].iloc[-1] >= 0.9 or history[column].iloc[-1] > zero_shot + 0.1, history

    checkpoint = tmp_path / "checkpoint.pt"
    digest = config_hash({"adapt": "toy_pyruvate"})

    def kill_at_8(row):
        if row["generation"] == 8:
            raise Killed  # after the checkpoint at generation 6

    problem, optimizer = fresh()
    with pytest.raises(Killed):
        run(problem, optimizer, checkpoint_path=checkpoint, config_hash_value=digest,
            on_generation=kill_at_8)  # fmt: skip
    assert load_checkpoint(checkpoint)["generation"] == 6
    np.random.seed(11)  # whatever the process did in between must not matter
    torch.manual_seed(11)
    problem, optimizer = fresh()
    resumed = run(problem, optimizer, checkpoint_path=checkpoint, config_hash_value=digest)
    assert resumed.resumed_from == 6
    assert torch.equal(resumed.weights, straight.weights)  # bit for bit
    compare = [name for name in history.columns if name != "wall_seconds"]
    pd.testing.assert_frame_equal(resumed.history[compare], history[compare])
    assert resumed.history["generation"].tolist() == list(range(11))  # one generation 0


def test_without_monitor_start_the_history_is_as_before(toy, make_toy_problem):
    problem, _ = make_toy_problem(toy, NEW, "conditional", 2, 10, (16,), seed=0, fit_on=TRAIN)
    weights = flatten_parameters(problem.generator)
    plain = train(problem, build_optimizer("trnes", weights, seed=1), 2, monitor_models=20)
    assert plain.history["generation"].tolist() == [1, 2]


def test_adapted_options_set_the_initial_search_width():
    assert adapted_options(TRNESSettings(), 0.002).sigma0 == 0.002
    assert adapted_options(SepCMASettings(), 0.003).sigma0 == 0.003
    assert adapted_options(RenaissanceSettings(), 0.004).sigma == 0.004
    assert adapted_options(TRNESSettings(population_size=8), 0.01).population_size == 8


def _history(incidence, evaluations, measure="monitor", first=0):
    return pd.DataFrame(
        {
            "generation": range(first, first + len(incidence)),
            "model_evaluations": evaluations,
            f"{measure}_incidence:pyr": incidence,
        }
    )


def test_adaptation_summary_by_hand():
    adapted = _history([0.2, 0.6, 0.92, 0.95], [0, 100, 200, 300])
    scratch = _history([0.1, 0.5, 0.91], [1000, 2000, 3000], first=1)
    summary = adaptation_summary(adapted, scratch, "pyr", 0.9, run={"seed": 4})
    assert summary["seed"] == 4 and summary["zero_shot_incidence"] == 0.2
    assert summary["evaluations_to_target"] == 200 and summary["final_incidence"] == 0.95
    assert summary["from_scratch"]["evaluations_to_target"] == 3000
    assert summary["from_scratch"]["measure"] == "unseen steady states"
    assert math.isclose(summary["evaluations_ratio"], 200 / 3000)
    # Not reached: null, and no ratio; a zero-shot start at the target needs 0 evaluations.
    never = adaptation_summary(adapted, scratch, "pyr", 0.99)
    assert never["evaluations_to_target"] is None and never["evaluations_ratio"] is None
    assert adaptation_summary(adapted, scratch, "pyr", 0.1)["evaluations_to_target"] == 0
    # A from-scratch run without a monitor is read from its training batch, and says so.
    in_sample = _history([0.95], [500], measure="centre", first=1)
    summary = adaptation_summary(adapted, in_sample, "pyr", 0.9)
    assert summary["from_scratch"]["measure"] == "training batch"
    with pytest.raises(ValueError, match="no incidence column"):
        adaptation_summary(adapted, scratch, "glc", 0.9)


def test_summary_reads_lower_targets_beside_the_main_one():
    adapted = _history([0.2, 0.6, 0.85, 0.88], [0, 100, 200, 300])
    scratch = _history([0.1, 0.5, 0.82], [1000, 2000, 3000], first=1)
    summary = adaptation_summary(adapted, scratch, "pyr", 0.9, also_at=[0.8, 0.5])
    first, at_80, at_50 = summary["at_targets"]
    # The main target first, as the top-level numbers: neither run reaches 0.9.
    assert first == {
        "target_incidence": 0.9, "adapted_evaluations": None,
        "from_scratch_evaluations": None, "evaluations_ratio": None,
    }  # fmt: skip
    assert (at_80["adapted_evaluations"], at_80["from_scratch_evaluations"]) == (200, 3000)
    assert math.isclose(at_80["evaluations_ratio"], 200 / 3000)
    assert math.isclose(at_50["evaluations_ratio"], 100 / 2000)


def test_seed_table_counts_unreached_runs_as_infinitely_slow():
    from kinetigen.es.adaptation import adaptation_seed_table

    scratch = _history([0.5, 0.82, 0.85], [1000, 2000, 3000], first=1)
    summaries = [
        adaptation_summary(
            _history(curve, [0, 100, 200]), scratch, "pyr", 0.9, run={"seed": seed}, also_at=[0.8]
        )
        for seed, curve in enumerate(([0.2, 0.85, 0.95], [0.2, 0.9, 0.9], [0.1, 0.3, 0.5]))
    ]
    table = adaptation_seed_table(summaries)
    assert list(table["seed"]) == ["0", "0", "1", "1", "2", "2", "median", "median"]
    at_90 = table[(table["seed"] == "median") & (table["target_incidence"] == 0.9)].iloc[0]
    # Seeds need 200, 100 and never: the median is 200, not the 150 of the two that did.
    assert at_90["adapted_evaluations"] == 200 and at_90["adapted_reached"] == 2
    # From scratch never reached 0.9 within 3000: the ratios are bounds, 200/3000 and 100/3000.
    assert math.isnan(at_90["from_scratch_evaluations"]) and at_90["from_scratch_reached"] == 0
    assert math.isclose(at_90["ratio_bound"], 200 / 3000)
    at_80 = table[(table["seed"] == "median") & (table["target_incidence"] == 0.8)].iloc[0]
    assert at_80["from_scratch_evaluations"] == 2000 and math.isclose(at_80["ratio_bound"], 0.05)
    assert math.isnan(at_80["evaluations_ratio"])
