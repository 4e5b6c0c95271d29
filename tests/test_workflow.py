"""The Snakemake workflow: dry runs with each profile and config-error handling."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=workdir,
    )


def test_rule_files_share_globals_through_common_smk():
    """Every top-level name lives in common.smk: no other rule file assigns one, so none reads
    another's and the include order does not matter."""
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        if path.name != "common.smk":
            assigned = re.findall(r"^([A-Za-z_]\w*)\s*=", path.read_text(), re.M)
            assert not assigned, (path.name, assigned)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


@pytest.mark.parametrize("profile", ["default", "slurm"])
def test_dry_run_with_each_profile(workdir, profile):
    result = snakemake(
        workdir, "-n", "--workflow-profile", str(REPO / "workflow" / "profiles" / profile)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    for rule, count in [("reaction_energies", 1), ("tfa", 6), ("sample_steady_states", 6)]:
        assert any(line.split() == [rule, str(count)] for line in out.splitlines()), out[-3000:]


def _refused(workdir: Path, edit) -> str:
    """The output of a dry run of config.yaml after ``edit(config)``, which must fail before
    any job (no results folder)."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    edit(config)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "-n")
    assert result.returncode != 0
    assert not (workdir / "results").exists()
    return result.stdout + result.stderr


def test_bad_environment_stops_before_any_job(workdir):
    bounds = {"EX_typo_e": [-1, 0]}
    out = _refused(
        workdir, lambda c: c["environments"]["glucose_aerobic"]["reaction_bounds"].update(bounds)
    )
    assert "unknown reaction id 'EX_typo_e'" in out and "glucose_aerobic" in out


def _planned(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts per rule of a ``snakemake -n --quiet rules`` run."""
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    counts: dict[str, int] = {}
    for line in (result.stdout + result.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in {"job"}:
            counts[parts[0]] = int(parts[1])
    return counts


# The default config's plan before environment families existed (022c072), plus the
# slow-pool screen of each environment's steady states (a copy of them by default).
DEFAULT_PLAN = dict(
    reaction_energies=1, tfa=6, sample_steady_states=6, screen_steady_states=6,
    kinetic_parameters=1, attainability=6,
    oracle_baseline=6, export_sbml=6, train=1, train_per_environment=1, bioreactor=1,
    control_coefficients=6, enzyme_perturbations=6, evaluate_generator=2, perturbation_tests=6,
    analysis_figures=1, figures=1, all=1, total=64,
)  # fmt: skip


def test_default_config_plans_the_same_jobs(workdir):
    assert _planned(snakemake(workdir, "-n", "--quiet", "rules")) == DEFAULT_PLAN


def test_families_overlay_plans_every_member(workdir):
    """config/families.yaml: 24 training members, 3 held out (one inside the grid), the
    two outside the grid adapted to."""
    (workdir / "config").mkdir()
    shutil.copy(REPO / "config" / "families.yaml", workdir / "config" / "families.yaml")
    result = snakemake(workdir, "-n", "--quiet", "rules", "--configfile", "config/families.yaml")
    plan = _planned(result)
    assert plan["tfa"] == plan["sample_steady_states"] == plan["perturbation_tests"] == 27
    assert plan["train"] == 1 and plan["train_per_environment"] == 3
    assert plan["evaluate_generator"] == 4 and plan["adapt"] == plan["evaluate_adapted"] == 2
    assert plan["total"] == 265


ADAPTATION_OVERLAY = {"training": {"adaptation": {"environments": ["pyruvate_aerobic"]}}}


def test_adaptation_config_plans_the_adapt_jobs(workdir):
    """Adapting to the held-out environment adds one adapt, one evaluation (for the figures)
    and one summary job per seed (the from-scratch run it compares with is in the default
    plan already)."""
    (workdir / "adapt.yaml").write_text(yaml.safe_dump(ADAPTATION_OVERLAY))
    plan = _planned(snakemake(workdir, "-n", "--quiet", "rules", "--configfile", "adapt.yaml"))
    added = dict(adapt=1, evaluate_adapted=1, adaptation_summary=1, adaptation_table=1)
    assert plan == dict(DEFAULT_PLAN, **added, total=DEFAULT_PLAN["total"] + 4)
    shutil.copytree(REPO / "config", workdir / "config")
    both = ["--configfile", "config/seeds.yaml", "adapt.yaml"]
    plan = _planned(snakemake(workdir, "-n", "--quiet", "rules", *both))
    assert plan["adapt"] == plan["adaptation_summary"] == plan["train_per_environment"] == 5
    assert plan["evaluate_adapted"] == 5 and plan["adaptation_table"] == 1
    trained_on = {"environments": ["acetate_aerobic"]}
    out = _refused(workdir, lambda c: c["training"].update(adaptation=trained_on))
    assert "config key 'training.adaptation.environments': ['acetate_aerobic'] are not held" in out


def test_ijo1366_core_overlay_plans_one_reduction_per_environment(workdir):
    """config/ijo1366_core.yaml: the default plan on its four environments, plus a
    reduce_core job per environment and the core.json that gathers them."""
    (workdir / "config").mkdir()
    shutil.copy(REPO / "config" / "ijo1366_core.yaml", workdir / "config")
    result = snakemake(
        workdir, "-n", "--quiet", "rules", "--configfile", "config/ijo1366_core.yaml"
    )
    per_environment = (
        "tfa",
        "sample_steady_states",
        "screen_steady_states",
        "attainability",
        "oracle_baseline",
        "export_sbml",
        "control_coefficients",
        "enzyme_perturbations",
        "perturbation_tests",
    )
    expected = dict(DEFAULT_PLAN, **dict.fromkeys(per_environment, 4), reduce_core=4)
    expected.update(core_definition=1, total=DEFAULT_PLAN["total"] - 9 * 2 + 4 + 1)
    assert _planned(result) == expected


def test_bad_family_stops_before_any_job(workdir):
    family = {"f": {"base": "glucose_aerobik", "grid": {"EX_o2_e": [1]}}}
    out = _refused(workdir, lambda c: c.update(environment_families=family))
    assert "config key 'environment_families.f.base': unknown environment 'glucose_aerobik'" in out


def test_bad_measured_km_stops_before_any_job(workdir):
    entry = {"reaction": "PGI", "metabolite": "pep_c", "value_M": 1e-3, "source": "typo"}
    out = _refused(workdir, lambda c: c["kinetics"].update(measured_km=[entry]))
    assert "config key 'kinetics.measured_km[0]': metabolite 'pep_c' is not a substrate" in out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The real workflow on tests/data/tiny_config.yaml, run once for this module."""
    workdir = tmp_path_factory.mktemp("tiny")
    shutil.copy(REPO / "tests" / "data" / "tiny_config.yaml", workdir / "config.yaml")
    result = snakemake(workdir, "--cores", "2", timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir


def test_tiny_run_writes_every_output(tiny_run):
    import json

    import pandas as pd

    for env in ("glucose_aerobic", "acetate_aerobic"):
        folder = tiny_run / "results" / "envs" / env
        summary = json.loads((folder / "tfa_summary.json").read_text())
        assert 0 < summary["tfa_growth"] <= summary["fba_growth"] + 1e-9
        samples = pd.read_parquet(folder / "steady_states.parquet")
        assert len(samples) == 20
        assert samples.filter(like="flux:").shape[1] == 95
        assert (tiny_run / "results" / "logs" / "tfa" / f"{env}.log").exists()
    energies = pd.read_csv(tiny_run / "results" / "thermo" / "reaction_energies.csv")
    assert list(energies.columns) == [
        "reaction",
        "dg0_mean_kJ",
        "dg0_std_kJ",
        "constrained",
        "reason",
    ]
    results = tiny_run / "results"
    parameters = pd.read_csv(results / "kinetic" / "parameters.csv")
    assert (parameters["ln_km_lower"] < parameters["ln_km_upper"]).all()
    for env in ("glucose_aerobic", "acetate_aerobic"):
        oracle = pd.read_csv(results / "envs" / env / "oracle.csv")
        assert len(oracle) == 200
        summary = json.loads((results / "envs" / env / "oracle_summary.json").read_text())
        assert summary["incidence"] == pytest.approx(oracle["valid"].mean())
        assert len(list((results / "envs" / env / "sbml").glob("*.xml"))) == 1
    history = pd.read_csv(results / "training" / "trnes" / "seed0" / "history.csv")
    assert history["generation"].tolist() == [1, 2]
    incidence = pd.read_csv(results / "training" / "trnes" / "seed0" / "incidence.csv")
    assert set(
        zip(incidence["env"], incidence["split"], incidence["steady_states"], strict=True)
    ) == {
        ("glucose_aerobic", "train", "unseen"),
        ("glucose_aerobic", "train", "training"),
        ("acetate_aerobic", "heldout", "unseen"),
    }
    per_env = results / "training" / "per-environment" / "acetate_aerobic" / "seed0"
    assert (per_env / "incidence.csv").exists()
    for env in ("glucose_aerobic", "acetate_aerobic"):
        perturbation = pd.read_csv(results / "validation" / env / "perturbation.csv")
        assert set(perturbation["group"]) <= {"generated", "oracle", "slow", "unstable"}
        assert {"returned", "time_to_return_h", "max_deviation", "margin"} <= set(
            perturbation.columns
        )
        # Every tested model sits on an unseen evaluation steady state (20 samples, 2 + 2).
        assert set(perturbation["steady_state"]) <= {5, 15}
        trajectories = pd.read_csv(results / "validation" / env / "trajectories.csv")
        assert (trajectories["deviation"] >= 0).all() and len(trajectories) > 0
        parameters = pd.read_parquet(results / "validation" / env / "parameters.parquet")
        assert set(parameters["group"]) <= {"generated", "oracle", "slow", "unstable"}
        assert parameters.filter(like="saturation:").stack().between(0, 1).all()
    bioreactor = pd.read_csv(results / "validation" / "bioreactor" / "summary.csv")
    assert len(bioreactor) >= 1 and bioreactor["status"].notna().all()
    for env in ("glucose_aerobic", "acetate_aerobic"):
        folder = results / "analysis" / env
        coefficients = pd.read_parquet(folder / "control_coefficients.parquet")
        assert list(coefficients.columns) == [
            "group",
            "model",
            "kind",
            "target",
            "enzyme",
            "coefficient",
        ]
        assert set(coefficients["kind"]) == {"flux", "concentration"}
        checks = json.loads((folder / "control_checks.json").read_text())
        assert checks["fluxes_of_interest"][0] == "Biomass_Ecoli_core"
        for group in checks["groups"].values():
            if group["models"] and group["status"]["ok"]:
                assert group["theorems_hold_1e-8"]
        assert {"median", "q25", "q75", "fraction_positive"} <= set(
            pd.read_csv(folder / "control_summary.csv").columns
        )
        perturbations = pd.read_csv(folder / "enzyme_perturbations.csv")
        assert set(perturbations["change"]) == {"GAPD x0.5", "GAPD x2", "CS x5", "PGI x0.05"}
        assert (perturbations["reached"] | (perturbations["reason"].str.len() > 0)).all()
        assert (folder / "perturbation_summary.csv").exists()
    names = ("thermo", "training", "lambda_max", "km", "perturbation", "transfer", "bioreactor")
    names += ("control_top", "control_heatmap", "enzyme_perturbations")
    for name in names:
        for suffix in (".png", ".pdf"):
            assert (results / "figures" / f"{name}{suffix}").stat().st_size > 1000


def _would_run(workdir: Path, config: dict) -> dict[str, int]:
    # Key order kept as a user's edit keeps it (Snakemake compares params as written).
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(workdir, "-n", "--quiet", "rules")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    counts: dict[str, int] = {}
    for line in (result.stdout + result.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in {"total", "job"}:
            counts[parts[0]] = int(parts[1])
    return counts


# Rules in workflow order: a config edit must rerun its stage and only what lies downstream.
ORDER = [
    "reaction_energies",
    "tfa",
    "sample_steady_states",
    "kinetic_parameters",
    "attainability",
    "oracle_baseline",
    "export_sbml",
    "train",
    "train_per_environment",
    "evaluate_generator",
]


@pytest.mark.parametrize(
    ("edit", "first", "untouched"),
    [
        (lambda c: None, None, ORDER),
        (lambda c: c["sampling"].update(n_samples=30), "sample_steady_states", ORDER[:2]),
        (lambda c: c["tfa"].update(min_growth_fraction=0.6), "tfa", ORDER[:1]),
        (lambda c: c.setdefault("thermo", {}).update(z_score=1.5), "tfa", ORDER[:1]),
        (
            lambda c: c.setdefault("physiology", {}).update(temperature_K=305.0),
            "reaction_energies",
            [],
        ),
        (
            lambda c: c["kinetics"]["oracle"].update(n_parameter_sets=300),
            "oracle_baseline",
            ORDER[:5] + ["train", "train_per_environment", "evaluate_generator", "bioreactor"],
        ),
        (lambda c: c["training"].update(max_generations=3), "train", ORDER[:7]),
        (
            lambda c: c["kinetics"].update(
                measured_km=[
                    {"reaction": "PGI", "metabolite": "g6p_c", "value_M": 1e-3, "source": "x"}
                ]
            ),
            "kinetic_parameters",
            ORDER[:3],
        ),
        (
            lambda c: c["analysis"].update(perturbations=[{"reactions": ["PGK"], "fold": 2}]),
            "enzyme_perturbations",
            [*ORDER, "perturbation_tests", "control_coefficients", "figures"],
        ),
    ],
)
def test_config_edit_reruns_only_that_stage_and_downstream(tiny_run, edit, first, untouched):
    config = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    edit(config)
    would_run = _would_run(tiny_run, config)
    would_run.pop("all", None)
    if first is None:
        assert would_run == {}
        return
    assert first in would_run
    assert not set(untouched) & set(would_run), would_run


def test_control_report_tables_the_tiny_run(tiny_run):
    """benchmarks/control_report.py (the README's control-analysis tables) reads a real run."""
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "control_report.py"), str(tiny_run / "results")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for heading in ("## Checks", "## Top three enzymes", "## Enzyme perturbations"):
        assert heading in result.stdout
    assert "| glucose_aerobic | Biomass_Ecoli_core |" in result.stdout


def _honours(names: list[str], ln_km: np.ndarray, measured: list[dict]) -> None:
    """Every row holds each measured value exactly (ln of it) and keeps each measured range."""
    for entry in measured:
        name = f"km_{entry['reaction']}_{entry['metabolite']}"
        if name not in names:
            continue
        column = ln_km[:, names.index(name)]
        if "value_M" in entry:
            assert (column == math.log(entry["value_M"])).all(), name
        else:
            low, high = (math.log(bound) for bound in entry["range_M"])
            assert ((column >= low) & (column <= high)).all(), name


def test_tiny_run_with_measured_km_honours_them(tiny_run, tmp_path):
    """The tiny run with config/measured_km.yaml's entries: the kinetic stage and what follows
    rerun; the parameter table lists them with their source, and the trained generator, the
    validated generated models and the ORACLE models all hold them."""
    import pandas as pd
    import torch

    from kinetigen.generator.files import load_generator

    workdir = tmp_path / "measured"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    config = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    overlay = yaml.safe_load((REPO / "config" / "measured_km.yaml").read_text())
    measured = overlay["kinetics"]["measured_km"]
    config["kinetics"]["measured_km"] = measured
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [
        "results/training/trnes/seed0/generator.pt",
        "results/validation/glucose_aerobic/parameters.parquet",
        "results/envs/acetate_aerobic/oracle.csv",
    ]
    result = snakemake(workdir, "--cores", "2", *targets, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    results = workdir / "results"
    parameters = pd.read_csv(results / "kinetic" / "parameters.csv", keep_default_na=False)
    sources = parameters.set_index("name")["source"]
    for entry in measured:
        assert sources[f"km_{entry['reaction']}_{entry['metabolite']}"] == entry["source"]
    assert (sources != "").sum() == len(measured)
    generator, _, _ = load_generator(results / "training" / "trnes" / "seed0" / "generator.pt")
    rng = torch.Generator().manual_seed(0)
    conditions = torch.randn(500, generator.condition_dim, generator=rng, dtype=torch.float64)
    # Saturation space (the default) reads each parameter's metabolite concentration: any
    # concentration, 1 uM to 20 mM here, must give the measured Km.
    ln_x = torch.empty(500, generator.lower.numel(), dtype=torch.float64)
    ln_x.uniform_(np.log(1e-6), np.log(2e-2), generator=rng)
    draws = generator.sample(500, conditions, generator=rng, ln_x=ln_x).numpy()
    _honours(parameters["name"].tolist(), draws, measured)
    tested = pd.read_parquet(results / "validation" / "glucose_aerobic" / "parameters.parquet")
    assert {"generated", "oracle"} <= set(tested["group"])
    ln_km = tested.filter(like="ln_km:")
    names = [column.removeprefix("ln_km:") for column in ln_km.columns]
    assert sum(f"km_{e['reaction']}_{e['metabolite']}" in names for e in measured) >= 4
    _honours(names, ln_km.to_numpy(), measured)


def test_tiny_run_adapts_from_the_trained_generator_and_resumes(tiny_run, tmp_path, monkeypatch):
    """Adaptation of the tiny run's generator to its held-out environment: zero generations
    give back the trained weights (generation 0 only); a run killed after a checkpoint and
    rerun ends bit for bit where an uninterrupted one does."""
    import pandas as pd
    import torch

    from kinetigen.config import validate_config
    from kinetigen.es import generations
    from kinetigen.es.adaptation import adapt_generator
    from kinetigen.es.kinetic import TrainingInputs
    from kinetigen.generator import flatten_parameters, load_generator
    from kinetigen.generator.model import unflatten_parameters
    from kinetigen.network import load_network

    results = tiny_run / "results"
    names = ["glucose_aerobic", "acetate_aerobic"]
    inputs = TrainingInputs.read(
        load_network("textbook"),
        names,
        [results / "envs" / env / "kinetic_steady_states.parquet" for env in names],
        results / "kinetic" / "parameters.csv",
        [results / "envs" / env / "attainability.csv" for env in names],
    )
    config = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    config["training"]["checkpoint_every"] = 2
    config["training"]["adaptation"] = {"max_generations": 0, "monitor_models": 10}
    start = results / "training" / "trnes" / "seed0" / "generator.pt"

    def adapt(generations_: int, checkpoint=None):
        config["training"]["adaptation"]["max_generations"] = generations_
        settings = validate_config(yaml.safe_load(yaml.safe_dump(config)))
        return adapt_generator(inputs, settings, start, "acetate_aerobic", 3, checkpoint)

    still = adapt(0)
    assert torch.equal(still.result.weights, flatten_parameters(load_generator(start)[0]))
    assert still.result.history["generation"].tolist() == [0]
    assert still.metadata["adapted_from"]["train_environments"] == ["glucose_aerobic"]
    straight = adapt(5).result

    checkpoint = tmp_path / "checkpoint.pt"
    logged = generations.GenerationLogger.on_generation

    def killed_at_3(self, state, info, row):
        if state.optimizer.generation == 3:
            raise RuntimeError("killed")  # after the checkpoint at generation 2
        logged(self, state, info, row)

    with monkeypatch.context() as patch:
        patch.setattr(generations.GenerationLogger, "on_generation", killed_at_3)
        with pytest.raises(RuntimeError, match="killed"):
            adapt(5, checkpoint)
    torch.manual_seed(5)
    resumed = adapt(5, checkpoint).result
    assert resumed.resumed_from == 2
    assert torch.equal(resumed.weights, straight.weights)  # bit for bit
    compare = [name for name in straight.history.columns if name != "wall_seconds"]
    pd.testing.assert_frame_equal(resumed.history[compare], straight.history[compare])

    # In a weight subspace (training.adaptation.weights) only the output layer moves.
    config["training"]["adaptation"]["weights"] = "output_affine"
    affine = adapt(2)
    assert affine.result.weights.numel() == straight.weights.numel()
    before = unflatten_parameters(affine.generator, flatten_parameters(load_generator(start)[0]))
    after = unflatten_parameters(affine.generator, affine.result.weights)
    moved = {name for name in after if not torch.equal(after[name], before[name])}
    assert moved == {"output.weight", "output.bias"}


def test_tiny_run_plans_and_writes_the_adaptation(tiny_run, tmp_path):
    """With adaptation configured the workflow adds only the adaptation jobs (and the
    from-scratch run's monitor) and writes the side-by-side summary, log and benchmark."""
    import json

    import pandas as pd
    import torch

    from kinetigen.generator import flatten_parameters, load_generator

    workdir = tmp_path / "adapted"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    config = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    config["training"]["adaptation"] = {
        "environments": ["acetate_aerobic"], "max_generations": 2, "monitor_models": 10,
    }  # fmt: skip
    planned = _would_run(workdir, config)
    # The from-scratch run gains the monitor columns (so its evaluation and the figures rerun),
    # and trains the same generator.
    reruns = ["train_per_environment", "evaluate_generator", "figures", "all"]
    added = ["adapt", "evaluate_adapted", "adaptation_summary", "adaptation_table"]
    assert planned == dict.fromkeys([*reruns, *added], 1)
    scratch = workdir / "results" / "training" / "per-environment" / "acetate_aerobic" / "seed0"
    before = flatten_parameters(load_generator(scratch / "generator.pt")[0])
    result = snakemake(workdir, "--cores", "2", timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert torch.equal(flatten_parameters(load_generator(scratch / "generator.pt")[0]), before)
    assert "monitor_incidence:acetate_aerobic" in pd.read_csv(scratch / "history.csv").columns
    folder = workdir / "results" / "adaptation" / "acetate_aerobic" / "seed0"
    summary = json.loads((folder / "summary.json").read_text())
    history = pd.read_csv(folder / "history.csv")
    assert history["generation"].tolist() == [0, 1, 2]
    assert summary["zero_shot_incidence"] == history["monitor_incidence:acetate_aerobic"].iloc[0]
    assert summary["from_scratch"]["measure"] == "unseen steady states"
    assert {"evaluations_to_target", "evaluations_ratio", "final_incidence"} <= set(summary)
    table = pd.read_csv(workdir / "results" / "adaptation" / "acetate_aerobic" / "seeds.csv")
    assert table["seed"].astype(str).tolist() == ["0", "median"]
    assert (workdir / "results" / "logs" / "adapt" / "acetate_aerobic_seed0.log").exists()
    assert (workdir / "results" / "benchmarks" / "adapt" / "acetate_aerobic_seed0.tsv").exists()


# e_coli_core without its pentose phosphate pathway: the PPP becomes part of the lumped
# biomass (it makes the biomass precursors r5p and e4p from g6p), on the tiny run's budgets.
PPP = ["G6PDH2r", "PGL", "GND", "RPE", "RPI", "TKT1", "TKT2", "TALA"]


def test_tiny_run_with_a_kinetic_core(tmp_path):
    """The workflow with a kinetic core: each environment's reduced model (no PPP reaction,
    the lumped biomass drawing g6p) is what TFA, sampling, the kinetic stage and training
    read; core.json gathers the environments' boundaries."""
    import json

    import pandas as pd

    from kinetigen.network import load_network, reduced_from

    config = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    config["core"] = {"drop_reactions": PPP}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = ["results/kinetic/core.json", "results/training/trnes/seed0/incidence.csv"]
    result = snakemake(tmp_path, "--cores", "2", *targets, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    results = tmp_path / "results"
    core = json.loads((results / "kinetic" / "core.json").read_text())
    assert set(core["environments"]) == {"glucose_aerobic", "acetate_aerobic"}
    assert not set(PPP) & {r["id"] for r in core["reactions"]}
    for env in core["environments"]:
        reduced = load_network(str(results / "core" / env / "model.json"))
        assert reduced_from(reduced) == "e_coli_core"
        biomass = reduced.reactions.get_by_id("Biomass_Ecoli_core")
        assert biomass.metabolites[reduced.metabolites.g6p_c] < 0  # drawn for the PPP
        samples = pd.read_parquet(results / "envs" / env / "steady_states.parquet")
        assert not [c for c in samples.columns if c.split(":")[-1] in PPP]
        assert "flux:Biomass_Ecoli_core" in samples.columns
    parameters = pd.read_csv(results / "kinetic" / "parameters.csv")
    biomass_km = parameters[parameters["reaction"] == "Biomass_Ecoli_core"]
    assert "g6p_c" in set(biomass_km["metabolite"])
    assert not set(PPP) & set(parameters["reaction"])
    incidence = pd.read_csv(results / "training" / "trnes" / "seed0" / "incidence.csv")
    assert set(incidence["env"]) == {"glucose_aerobic", "acetate_aerobic"}
