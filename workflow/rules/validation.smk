rule perturbation_tests:
    """Perturb generated, ORACLE-valid and invalid models; do they return to steady state?"""
    input:
        network_files,
        samples=steady_states,
        parameters="results/kinetic/parameters.csv",
        oracle="results/envs/{env}/oracle.csv",
        generator=VALIDATED_GENERATOR,
    output:
        table="results/validation/{env}/perturbation.csv",
        trajectories="results/validation/{env}/trajectories.csv",
        models="results/validation/{env}/models.csv",
        parameters="results/validation/{env}/parameters.parquet",
        summary="results/validation/{env}/summary.json",
    params:
        **NETWORK_PARAMS,
        config=validation_config(),
        seed=config["seed"],
    threads: VALIDATION["processes"]
    log:
        "results/logs/perturbation_tests/{env}.log",
    benchmark:
        "results/benchmarks/perturbation_tests/{env}.tsv"
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/perturbation_tests.py"


rule bioreactor:
    """Batch culture to substrate exhaustion for an ensemble of generated models."""
    input:
        environment_network_files(BIOREACTOR),
        samples=KINETIC_STEADY_STATES.format(env=BIOREACTOR),
        parameters="results/kinetic/parameters.csv",
        generator=VALIDATED_GENERATOR,
    output:
        time_courses="results/validation/bioreactor/time_courses.csv",
        summary="results/validation/bioreactor/summary.csv",
    params:
        **BIOREACTOR_NETWORK_PARAMS,
        config=bioreactor_config(),
        seed=config["seed"],
    log:
        "results/logs/bioreactor.log",
    benchmark:
        "results/benchmarks/bioreactor.tsv"
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/bioreactor.py"
