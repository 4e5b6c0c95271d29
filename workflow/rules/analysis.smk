# What the models are for: control coefficients and enzyme perturbation studies, per
# environment, on the generated valid and ORACLE-valid models of the evaluation steady states.
rule control_coefficients:
    """Scaled flux and concentration control coefficients w.r.t. enzyme levels (Vmax)."""
    input:
        network_files,
        **ANALYSIS_INPUT,
    output:
        coefficients="results/analysis/{env}/control_coefficients.parquet",
        summary="results/analysis/{env}/control_summary.csv",
        checks="results/analysis/{env}/control_checks.json",
    params:
        **NETWORK_PARAMS,
        config=analysis_config("n_models", "fluxes", "finite_difference"),
        seed=config["seed"],
    log:
        "results/logs/control_coefficients/{env}.log",
    benchmark:
        "results/benchmarks/control_coefficients/{env}.tsv"
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/control_coefficients.py"


rule enzyme_perturbations:
    """Enzyme-level changes simulated with the nonlinear model to the new steady state."""
    input:
        network_files,
        **ANALYSIS_INPUT,
    output:
        table="results/analysis/{env}/enzyme_perturbations.csv",
        summary="results/analysis/{env}/perturbation_summary.csv",
    params:
        **NETWORK_PARAMS,
        config=analysis_config(
            "fluxes",
            "perturbations",
            "perturbation_models",
            "horizon_doubling_times",
            "settle_tolerance",
        ),
        seed=config["seed"],
    threads: VALIDATION["processes"]
    log:
        "results/logs/enzyme_perturbations/{env}.log",
    benchmark:
        "results/benchmarks/enzyme_perturbations/{env}.tsv"
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/enzyme_perturbations.py"


rule analysis_figures:
    """Top controlling enzymes per flux of interest, control across environments, and the
    fold changes of the enzyme perturbations."""
    input:
        summaries=expand("results/analysis/{env}/control_summary.csv", env=ENVIRONMENTS),
        coefficients=expand(
            "results/analysis/{env}/control_coefficients.parquet", env=ENVIRONMENTS
        ),
        checks=expand("results/analysis/{env}/control_checks.json", env=ENVIRONMENTS),
        perturbations=expand(
            "results/analysis/{env}/enzyme_perturbations.csv", env=ENVIRONMENTS
        ),
    output:
        **{
            name: report(
                f"results/figures/{name}.png",
                caption=f"../report/{name}.rst",
                category="Control analysis",
            )
            for name in ANALYSIS_FIGURES
        },
    params:
        top_enzymes=ANALYSIS["top_enzymes"],
    log:
        "results/logs/analysis_figures.log",
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/analysis_figures.py"
