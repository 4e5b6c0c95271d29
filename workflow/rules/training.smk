wildcard_constraints:
    method="|".join(METHODS),
    seed=r"\d+",


rule train:
    """One generator over the training environments (mode from config), one method and seed.
    Checkpoints beside its outputs; a rerun after a kill resumes from the checkpoint."""
    input:
        ALL_NETWORK_FILES,
        **TRAINING_INPUT,
    output:
        generator="results/training/{method}/seed{seed}/generator.pt",
        history="results/training/{method}/seed{seed}/history.csv",
    params:
        **ALL_NETWORKS_PARAMS,
        environments=ENVIRONMENTS,
        train_environments=TRAIN_ENVIRONMENTS,
        mode=config["training"]["mode"],
        config=training_config(),
        checkpoint="results/training/{method}/seed{seed}/checkpoint.pt",
    log:
        "results/logs/train/{method}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{method}_seed{seed}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/train.py"


rule train_per_environment:
    """RENAISSANCE's way: one unconditional generator trained on one environment only."""
    input:
        ALL_NETWORK_FILES,
        **TRAINING_INPUT,
    output:
        generator="results/training/per-environment/{env}/seed{seed}/generator.pt",
        history="results/training/per-environment/{env}/seed{seed}/history.csv",
    params:
        **ALL_NETWORKS_PARAMS,
        environments=ENVIRONMENTS,
        train_environments=lambda wc: [wc.env],
        mode="per-environment",
        config=training_config(),
        checkpoint="results/training/per-environment/{env}/seed{seed}/checkpoint.pt",
        **SCRATCH_MONITOR,
    log:
        "results/logs/train_per_environment/{env}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train_per_environment/{env}_seed{seed}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/train.py"


rule adapt:
    """A trained generator fine-tuned to a held-out environment (training.adaptation) with
    the optimiser it was trained with; history generation 0 is its zero-shot start.
    Checkpoints beside its outputs; a rerun after a kill resumes from the checkpoint."""
    input:
        ALL_NETWORK_FILES,
        **TRAINING_INPUT,
        generator=adaptation_start,
    output:
        generator="results/adaptation/{env}/seed{seed}/generator.pt",
        history="results/adaptation/{env}/seed{seed}/history.csv",
    params:
        **ALL_NETWORKS_PARAMS,
        environments=ENVIRONMENTS,
        config=adaptation_config(),
        checkpoint="results/adaptation/{env}/seed{seed}/checkpoint.pt",
    log:
        "results/logs/adapt/{env}_seed{seed}.log",
    benchmark:
        "results/benchmarks/adapt/{env}_seed{seed}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/adapt.py"


rule adaptation_summary:
    """Evaluations to the target incidence (unseen steady states): adapted beside the
    per-environment generator trained on that environment from scratch."""
    input:
        history="results/adaptation/{env}/seed{seed}/history.csv",
        scratch="results/training/per-environment/{env}/seed{seed}/history.csv",
    output:
        summary="results/adaptation/{env}/seed{seed}/summary.json",
    params:
        target=ADAPTATION["target_incidence"],
        also_at=ADAPTATION["also_at_incidence"],
        run=lambda wc: dict(
            seed=int(wc.seed),
            from_method=ADAPTATION["from_method"],
            from_seed=int(wc.seed if ADAPTATION["from_seed"] is None else ADAPTATION["from_seed"]),
        ),
    log:
        "results/logs/adaptation_summary/{env}_seed{seed}.log",
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/adaptation_summary.py"


rule adaptation_table:
    """Every seed's adaptation summary of one environment in one table, with the median over
    seeds per target incidence (issue 12's measure)."""
    input:
        summaries=lambda wc: expand(
            "results/adaptation/{env}/seed{seed}/summary.json", env=wc.env, seed=ADAPTATION_SEEDS
        ),
    output:
        table="results/adaptation/{env}/seeds.csv",
    log:
        "results/logs/adaptation_table/{env}.log",
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/adaptation_table.py"


rule evaluate_generator:
    """Incidence on a fresh latent batch, training and held-out environments."""
    input:
        ALL_NETWORK_FILES,
        **TRAINING_INPUT,
        generator="results/training/{run}/generator.pt",
    output:
        incidence="results/training/{run}/incidence.csv",
    params:
        **ALL_NETWORKS_PARAMS,
        environments=ENVIRONMENTS,
        heldout=HELDOUT,
        config=training_config(),
        n_models=config["training"]["final_models"],
        seed=config["seed"],
    log:
        "results/logs/evaluate_generator/{run}.log",
    threads: config["training"]["threads"]
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/evaluate_generator.py"


# An adapted generator's incidence, scored as a trained one's (the transfer figure's column).
use rule evaluate_generator as evaluate_adapted with:
    input:
        model_files(),
        **TRAINING_INPUT,
        generator="results/adaptation/{run}/generator.pt",
    output:
        incidence="results/adaptation/{run}/incidence.csv",
    log:
        "results/logs/evaluate_adapted/{run}.log",


rule benchmark_run:
    """One run of the stability benchmark: equal model-evaluation budget for every method,
    the centre scored every generation on a fixed batch so drops are real changes."""
    input:
        ALL_NETWORK_FILES,
        **TRAINING_INPUT,
    output:
        history="results/benchmark/runs/{method}/seed{seed}/history.csv",
    params:
        **ALL_NETWORKS_PARAMS,
        environments=ENVIRONMENTS,
        train_environments=TRAIN_ENVIRONMENTS,
        mode=config["training"]["mode"],
        config=training_config(),
        max_model_evaluations=BENCHMARK["max_model_evaluations"],
        monitor_models=BENCHMARK["monitor_models"],
        checkpoint="results/benchmark/runs/{method}/seed{seed}/checkpoint.pt",
    log:
        "results/logs/benchmark_run/{method}_seed{seed}.log",
    benchmark:
        "results/benchmarks/benchmark_run/{method}_seed{seed}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/train.py"


rule stability_benchmark:
    """Seeds x methods at equal budgets: how often, how fast and how steadily each method
    reaches the target incidence on every training environment. Not part of `all`:
    run `snakemake stability_benchmark`."""
    input:
        histories=expand(
            "results/benchmark/runs/{method}/seed{seed}/history.csv",
            method=BENCHMARK["methods"],
            seed=BENCHMARK_SEEDS,
        ),
    output:
        runs="results/benchmark/stability.csv",
        summary="results/benchmark/stability_summary.csv",
    params:
        runs=[(m, s) for m in BENCHMARK["methods"] for s in BENCHMARK_SEEDS],
        target=BENCHMARK["target"],
        max_model_evaluations=BENCHMARK["max_model_evaluations"],
        report_at=BENCHMARK["report_at"],
    log:
        "results/logs/stability_benchmark.log",
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/stability_benchmark.py"
