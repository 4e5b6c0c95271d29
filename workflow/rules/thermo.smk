rule reaction_energies:
    """dG'0 and its square-root covariance for every reaction (eQuilibrator, offline)."""
    input:
        model_files(),
    output:
        table="results/thermo/reaction_energies.csv",
        sqrt_cov="results/thermo/dg0_sqrt_cov.parquet",
        unmapped="results/thermo/unmapped_metabolites.json",
        coverage="results/thermo/coverage.json",
    params:
        **WHOLE_MODEL_PARAMS,
        physiology=ENERGY_PHYSIOLOGY,
        thermo=ENERGY_THERMO,
    log:
        "results/logs/reaction_energies.log",
    benchmark:
        "results/benchmarks/reaction_energies.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/reaction_energies.py"
