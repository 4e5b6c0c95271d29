rule tfa:
    """TFA optimum, reference directionality profile and variability analysis per environment."""
    input:
        network_files,
        energies="results/thermo/reaction_energies.csv",
        sqrt_cov="results/thermo/dg0_sqrt_cov.parquet",
    output:
        summary="results/envs/{env}/tfa_summary.json",
        variability="results/envs/{env}/variability.csv",
    params:
        **NETWORK_PARAMS,
        physiology=TFA_PHYSIOLOGY,
        z_score=config["thermo"]["z_score"],
        tfa=config["tfa"],
        # The reference must meet the sampling margins (and only these: the sample count or
        # the sampler do not change the reference).
        sampling={k: config["sampling"][k] for k in ("min_abs_dg_kJ", "min_abs_flux")},
        environment=environment,
    log:
        "results/logs/tfa/{env}.log",
    benchmark:
        "results/benchmarks/tfa/{env}.tsv"
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/tfa.py"


rule sample_steady_states:
    """Thermodynamically feasible steady states sharing the reference directionality profile."""
    input:
        network_files,
        energies="results/thermo/reaction_energies.csv",
        sqrt_cov="results/thermo/dg0_sqrt_cov.parquet",
        summary="results/envs/{env}/tfa_summary.json",
    output:
        samples="results/envs/{env}/steady_states.parquet",
    params:
        **NETWORK_PARAMS,
        physiology=TFA_PHYSIOLOGY,
        z_score=config["thermo"]["z_score"],
        tfa=config["tfa"],
        sampling=config["sampling"],
        environment=environment,
        seed=config["seed"],
    threads: config["sampling"]["processes"]
    log:
        "results/logs/sample_steady_states/{env}.log",
    benchmark:
        "results/benchmarks/sample_steady_states/{env}.tsv"
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/sample_steady_states.py"
