"""The Snakemake workflow: dry runs with each profile and config-error handling."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def test_bad_environment_stops_before_any_job(workdir):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["environments"]["glucose_aerobic"]["reaction_bounds"]["EX_typo_e"] = [-1, 0]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "-n")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "unknown reaction id 'EX_typo_e'" in out and "glucose_aerobic" in out
