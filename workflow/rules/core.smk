# The kinetic core of a genome-scale model (config "core"; kinetigen.core): only when one is
# configured. Each environment gets its own reduction, since the lumped biomass and the
# other boundary reactions carry the routes of that environment's genome-scale reference.
rule reduce_core:
    """The core with boundary reactions that close its steady state, reduced at this
    environment's genome-scale pFBA solution; every later stage of the environment reads it."""
    input:
        model_files(),
    output:
        model="results/core/{env}/model.json",
        core="results/core/{env}/core.json",
    params:
        **WHOLE_MODEL_PARAMS,
        config=core_config(),
        environment=environment,
    log:
        "results/logs/reduce_core/{env}.log",
    benchmark:
        "results/benchmarks/reduce_core/{env}.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/reduce_core.py"


rule core_definition:
    """results/kinetic/core.json: the core actually used, with each environment's boundary."""
    input:
        documents=expand("results/core/{env}/core.json", env=ENVIRONMENTS),
    output:
        core="results/kinetic/core.json",
    params:
        environments=ENVIRONMENTS,
    log:
        "results/logs/core_definition.log",
    conda:
        "../../envs/kinetigen.yaml"
    script:
        "../../scripts/core_definition.py"
