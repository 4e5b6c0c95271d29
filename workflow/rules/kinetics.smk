rule screen_steady_states:
    """The sampled steady states the kinetic stages use: those without a pool too slow for
    any Km set to meet the threshold (kinetics.pool_turnover; all of them by default)."""
    input:
        network_files,
        samples="results/envs/{env}/steady_states.parquet",
    output:
        samples="results/envs/{env}/kinetic_steady_states.parquet",
        table="results/envs/{env}/pool_turnover.csv",
    params:
        **NETWORK_PARAMS,
        config=kinetics_config(),
        min_factor=config["kinetics"]["pool_turnover"]["min_factor"],
    log:
        "results/logs/screen_steady_states/{env}.log",
    benchmark:
        "results/benchmarks/screen_steady_states/{env}.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/screen_steady_states.py"


rule kinetic_parameters:
    """One Km parameter space (names and ln Km bounds) shared by every environment."""
    input:
        ALL_NETWORK_FILES,
        samples=expand(KINETIC_STEADY_STATES, env=ENVIRONMENTS),
    output:
        parameters="results/kinetic/parameters.csv",
    params:
        **ALL_NETWORKS_PARAMS,
        environments=ENVIRONMENTS,
        config=kinetics_config(),
    log:
        "results/logs/kinetic_parameters.log",
    benchmark:
        "results/benchmarks/kinetic_parameters.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/kinetic_parameters.py"


rule attainability:
    """Can any Km set make this environment's steady states valid? (separable CMA-ES)"""
    input:
        network_files,
        samples=steady_states,
        parameters="results/kinetic/parameters.csv",
    output:
        table="results/envs/{env}/attainability.csv",
    params:
        **NETWORK_PARAMS,
        config=kinetics_config("attainability"),
        seed=config["seed"],
    log:
        "results/logs/attainability/{env}.log",
    benchmark:
        "results/benchmarks/attainability/{env}.tsv"
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/attainability.py"


rule oracle_baseline:
    """ORACLE: uniform saturations, keep the valid parameter sets (what users do today)."""
    input:
        network_files,
        samples=steady_states,
        parameters="results/kinetic/parameters.csv",
    output:
        table="results/envs/{env}/oracle.csv",
        summary="results/envs/{env}/oracle_summary.json",
    params:
        **NETWORK_PARAMS,
        config=kinetics_config("oracle"),
        seed=config["seed"],
    log:
        "results/logs/oracle_baseline/{env}.log",
    benchmark:
        "results/benchmarks/oracle_baseline/{env}.tsv"
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/oracle_baseline.py"


rule export_sbml:
    """A few ORACLE-valid models per environment as SBML (COPASI, libRoadRunner, Tellurium)."""
    input:
        network_files,
        samples=steady_states,
        oracle="results/envs/{env}/oracle.csv",
    output:
        folder=directory("results/envs/{env}/sbml"),
    params:
        **NETWORK_PARAMS,
        config=kinetics_config("oracle", "sbml"),
        seed=config["seed"],
    log:
        "results/logs/export_sbml/{env}.log",
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/export_sbml.py"
