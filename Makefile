# Two commands set everything up on a fresh machine with Python 3.11:
#   make run    create .venv, install pinned dependencies, run the workflow on config.yaml
#   make test   same environment, run the test suite (ruff, snakemake --lint, pytest)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all
SNAKEMAKE_ARGS ?=

.PHONY: run test lint dryrun benchmark clean-results

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build; a loose requirement would pull CUDA (several GB).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --report results/report.html $(SNAKEMAKE_ARGS)

# One BLAS thread per process: the suite's solvers are small, and threads fight on 2 cores.
# PYTHONHASHSEED: as in the workflow's jobs (Snakefile), so the suite gives the same numbers
# in every run (unseeded, HiGHS' LP solutions differed at 1e-13 from process to process,
# which moved an occasional finite-difference solve of tests/test_analysis_stage.py).
test: $(STAMP)
	$(BIN)/ruff check src scripts tests benchmarks
	$(BIN)/snakemake --lint  # the workflow on the default config; fails on any finding
	PYTHONHASHSEED=$${PYTHONHASHSEED:-0} OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/pytest

dryrun: $(STAMP)
	$(BIN)/snakemake -n $(SNAKEMAKE_ARGS)

clean-results:
	rm -rf results/thermo results/envs results/logs results/benchmarks
