rule figures:
    """Every figure of the paper, redrawn from results/ (PNG, with a PDF beside each)."""
    input:
        variability=expand("results/envs/{env}/variability.csv", env=ENVIRONMENTS),
        histories=[f"{run}/history.csv" for run in TRAINING_RUNS],
        incidence=[f"{run}/incidence.csv" for run in TRAINING_RUNS],
        oracle=expand("results/envs/{env}/oracle.csv", env=ENVIRONMENTS),
        oracle_summaries=expand("results/envs/{env}/oracle_summary.json", env=ENVIRONMENTS),
        models=expand("results/validation/{env}/models.csv", env=ENVIRONMENTS),
        parameters=expand("results/validation/{env}/parameters.parquet", env=ENVIRONMENTS),
        km_space="results/kinetic/parameters.csv",
        perturbation=expand("results/validation/{env}/perturbation.csv", env=ENVIRONMENTS),
        trajectories=expand("results/validation/{env}/trajectories.csv", env=ENVIRONMENTS),
        bioreactor="results/validation/bioreactor/time_courses.csv",
        bioreactor_summary="results/validation/bioreactor/summary.csv",
        **ADAPTATION_FIGURE_INPUT,
    output:
        **{
            name: report(
                f"results/figures/{name}.png",
                caption=f"../report/{name}.rst",
                category="Figures",
            )
            for name in FIGURES
        },
    params:
        # Named in the perturbation figure's title.
        validation={key: VALIDATION[key] for key in ("tolerance", "return_time_factor")}
        | {"bioreactor_environment": VALIDATION["bioreactor"]["environment"]},
        # Drawn in the Km figure (its defaults, as a literature reference, when not used).
        km_prior=config["kinetics"]["km_prior"],
        **ADAPTATION_FIGURE_PARAMS,
    log:
        "results/logs/figures.log",
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/figures.py"
