# Helpers and globals shared by the rule files. Every top-level name that a rule file reads
# is defined here, so the rule files depend neither on each other nor on their include order.
from pathlib import Path

from kinetigen.config import run_environments, training_environments
from kinetigen.methods import METHODS
from kinetigen.settings import CoreSettings

# config["run_environments"] picks a subset (an overlay cannot delete environments). The
# members of config["environment_families"] are environments like the others: the Snakefile's
# validate_config expanded them into config["environments"] (kinetigen.families), and family
# names in the name lists into their members.
ENVIRONMENTS = run_environments(config)


wildcard_constraints:
    env="|".join(ENVIRONMENTS) if ENVIRONMENTS else "[^/]+",


def model_files():
    """The model file as an input when config names a path (cobra's bundled models have none)."""
    spec = config["model"]
    return [spec] if Path(spec).suffix else []


def environment(wildcards):
    return config["environments"][wildcards.env]


# A kinetic core (config "core"; kinetigen.core): rule reduce_core writes each environment's
# reduced model, and every stage of that environment after the reaction energies reads it
# instead of the configured model. Without one (the default) every rule reads config["model"].
CORE = not CoreSettings.from_section(config["core"]).whole_model


def core_model(env):
    return f"results/core/{env}/model.json"


def environment_network_files(env):
    """The network file the rules of environment ``env`` read (none for cobra's bundled
    models)."""
    return [core_model(env)] if CORE else model_files()


def network_files(wildcards):
    return environment_network_files(wildcards.env)


# Every network-reading rule gets these as params, so that editing them reruns it.
# WHOLE_MODEL_PARAMS: the configured model (the energies, the core's reduction).
# NETWORK_PARAMS: the network of the job's environment. ALL_NETWORKS_PARAMS: those of every
# environment (one model spec, or environment -> reduced model with a core;
# kinetigen.network.load_networks).
WHOLE_MODEL_PARAMS = dict(
    model=config["model"],
    solver=config["solver"],
    biomass_reaction=config["biomass_reaction"],
)
NETWORK_PARAMS = dict(
    WHOLE_MODEL_PARAMS, model=(lambda wc: core_model(wc.env)) if CORE else config["model"]
)
ALL_NETWORK_FILES = [core_model(env) for env in ENVIRONMENTS] if CORE else model_files()
ALL_NETWORKS_PARAMS = dict(
    WHOLE_MODEL_PARAMS,
    model={env: core_model(env) for env in ENVIRONMENTS} if CORE else config["model"],
)

# What rule all asks of the core stage (nothing without a core).
CORE_OUTPUTS = ["results/kinetic/core.json"] if CORE else []

# The bioreactor simulates one environment, named in its settings (no wildcard).
BIOREACTOR = config["validation"]["bioreactor"]["environment"]
BIOREACTOR_NETWORK_PARAMS = dict(
    WHOLE_MODEL_PARAMS, model=core_model(BIOREACTOR) if CORE else config["model"]
)


def core_config():
    """What the reduction reads: the core section, the physiology (currency metabolites),
    the biomass id and the kinetic stage's choice of dynamic states (for core.json's size
    estimate)."""
    kinetics = config["kinetics"]
    return dict(
        core=config["core"],
        physiology=config["physiology"],
        biomass_reaction=config["biomass_reaction"],
        kinetics={k: kinetics[k] for k in ("boundary_compartments", "constant_small_molecules")},
    )

# Only what eQuilibrator's estimate depends on, so editing concentration bounds, z or the cell
# density does not recompute the reaction energies.
ENERGY_PHYSIOLOGY = dict(
    temperature_K=config["physiology"]["temperature_K"],
    compartments={
        name: {key: compartment[key] for key in ("pH", "ionic_strength_M", "potential_mV")}
        for name, compartment in config["physiology"]["compartments"].items()
    },
)
ENERGY_THERMO = {key: value for key, value in config["thermo"].items() if key != "z_score"}
# What TFA and sampling read of the physiology (concentration bounds, temperature).
TFA_PHYSIOLOGY = {key: config["physiology"][key] for key in ("temperature_K", "compartments")}


# The steady states every kinetic stage reads (rule screen_steady_states).
KINETIC_STEADY_STATES = "results/envs/{env}/kinetic_steady_states.parquet"


def steady_states(wildcards):
    return KINETIC_STEADY_STATES.format(env=wildcards.env)


def kinetics_config(*stages):
    """What the kinetic stage reads: physiology, biomass id and the kinetics section without
    the sub-sections of other rules (so editing the ORACLE sample count does not rerun the
    attainability screen). The Km prior goes to ORACLE's readers and to training, and only
    when it is on (kind lognormal), so the default run's params are as without it."""
    per_rule = {"attainability", "oracle", "sbml", "km_prior", "pool_turnover"}
    if "oracle" in stages and config["kinetics"]["km_prior"]["kind"] != "none":
        stages = (*stages, "km_prior")
    kinetics = {
        key: value
        for key, value in config["kinetics"].items()
        if key not in per_rule or key in stages
    }
    return dict(
        physiology=config["physiology"],
        biomass_reaction=config["biomass_reaction"],
        kinetics=kinetics,
    )


def validation_config():
    """What the perturbation tests read: the kinetic stage with ORACLE, and validation
    (without processes: the rule's threads, which change no result and rerun nothing)."""
    validation = {k: v for k, v in config["validation"].items() if k != "processes"}
    return dict(kinetics_config("oracle"), validation=validation)


def bioreactor_config():
    """What the bioreactor reads: the kinetic stage and the bioreactor settings (it simulates
    generated models only: ORACLE settings must not rerun it)."""
    return dict(
        kinetics_config(), validation={"bioreactor": config["validation"]["bioreactor"]}
    )


def analysis_config(*keys):
    """Config of the analysis stage: the kinetic stage with ORACLE, and the given analysis keys
    (so editing the perturbation list does not recompute the control coefficients)."""
    analysis = config["analysis"]
    return dict(
        kinetics_config("oracle"), analysis={key: analysis[key] for key in keys if key in analysis}
    )


TRAIN_ENVIRONMENTS = training_environments(config)
HELDOUT = [e for e in config["training"]["heldout"] if e in ENVIRONMENTS]


def training_config():
    """What training reads: the kinetic model settings, the generator and training options
    (without the keys that only choose which runs the default target asks for)."""
    not_read = {"methods", "seeds", "benchmark", "final_models", "per_environment", "threads"}
    not_read |= {"environments", "adaptation"}  # train_environments; adaptation_config()
    # The Km options only when on, so a default run's params are as before them.
    prior = ("km_prior",) if config["kinetics"]["km_prior"]["kind"] != "none" else ()
    generator = dict(config["generator"])
    if generator["output_range"] == "km_bounds":
        del generator["output_range"], generator["output_range_sd"]
    if generator["output_space"] == "ln_km":
        del generator["output_space"], generator["saturation_range"]
    if config["training"]["km_regulariser"]["weight"] == 0:
        not_read.add("km_regulariser")
    return dict(
        kinetics_config(*prior),
        generator=generator,
        training={k: v for k, v in config["training"].items() if k not in not_read},
    )


TRAINING_INPUT = dict(
    samples=expand(KINETIC_STEADY_STATES, env=ENVIRONMENTS),
    parameters="results/kinetic/parameters.csv",
    attainability=expand("results/envs/{env}/attainability.csv", env=ENVIRONMENTS),
)

# Training runs of the default target (figures read them all).
TRAINING_RUNS = expand(
    "results/training/{method}/seed{seed}",
    method=config["training"]["methods"],
    seed=config["training"]["seeds"],
) + expand(
    "results/training/per-environment/{env}/seed{seed}",
    env=HELDOUT if config["training"]["per_environment"] else [],
    seed=config["training"]["seeds"],
)

# Adaptation (the adapt rule): held-out environments a trained generator is fine-tuned to,
# per seed; none by default, so the default run plans the jobs it did before.
ADAPTATION = config["training"]["adaptation"]
ADAPTATION_ENVIRONMENTS = [e for e in ADAPTATION["environments"] if e in ENVIRONMENTS]
ADAPTATION_SEEDS = ADAPTATION["seeds"] or config["training"]["seeds"]
ADAPTATION_RUNS = expand(
    "results/adaptation/{env}/seed{seed}", env=ADAPTATION_ENVIRONMENTS, seed=ADAPTATION_SEEDS
)
ADAPTATION_SUMMARIES = [f"{run}/summary.json" for run in ADAPTATION_RUNS]
ADAPTATION_TABLES = expand("results/adaptation/{env}/seeds.csv", env=ADAPTATION_ENVIRONMENTS)
# The figures draw the adaptation runs when there are any (training curves, transfer
# columns); without them their inputs and params stay as they were.
ADAPTATION_FIGURE_INPUT = (
    dict(
        adaptation_histories=[f"{run}/history.csv" for run in ADAPTATION_RUNS],
        adaptation_incidence=[f"{run}/incidence.csv" for run in ADAPTATION_RUNS],
    )
    if ADAPTATION_RUNS
    else {}
)
ADAPTATION_FIGURE_PARAMS = (
    dict(adaptation_targets=[ADAPTATION["target_incidence"], *ADAPTATION["also_at_incidence"]])
    if ADAPTATION_RUNS
    else {}
)
# The from-scratch runs of adapted environments get adaptation's monitor (unseen steady
# states), so both sides are read alike; without adaptation their params stay as they were.
SCRATCH_MONITOR = (
    dict(
        monitor_models=lambda wc: (
            ADAPTATION["monitor_models"] if wc.env in ADAPTATION_ENVIRONMENTS else None
        )
    )
    if ADAPTATION_ENVIRONMENTS
    else {}
)


# Adaptation keys that choose runs or only the summary reads: not in an adapt job's params.
ADAPTATION_SUMMARY_ONLY = {"environments", "seeds", "from_method", "from_seed"}
ADAPTATION_SUMMARY_ONLY |= {"target_incidence", "also_at_incidence"}


def adaptation_config():
    """What adaptation reads: training's config with the adaptation settings that shape a
    run (not which environments and seeds, nor the target, which only the summary reads)."""
    adaptation = {
        key: value
        for key, value in ADAPTATION.items()
        if key not in ADAPTATION_SUMMARY_ONLY
    }
    base = training_config()
    return dict(base, training=dict(base["training"], adaptation=adaptation))


def adaptation_start(wildcards):
    """The trained generator an adaptation run starts from."""
    seed = wildcards.seed if ADAPTATION["from_seed"] is None else ADAPTATION["from_seed"]
    return f"results/training/{ADAPTATION['from_method']}/seed{seed}/generator.pt"


BENCHMARK = config["training"]["benchmark"]
BENCHMARK_SEEDS = range(BENCHMARK["first_seed"], BENCHMARK["first_seed"] + BENCHMARK["seeds"])

VALIDATION = config["validation"]
VALIDATED_GENERATOR = (
    f"results/training/{VALIDATION['method']}/seed{config['training']['seeds'][0]}/generator.pt"
)

# The paper's figures (rule figures), one PNG each.
FIGURES = ["thermo", "training", "lambda_max", "km", "perturbation", "transfer", "bioreactor"]

# The analysis stage (analysis.smk): control coefficients and enzyme perturbation studies.
ANALYSIS = config["analysis"]
ANALYSIS_FIGURES = ["control_top", "control_heatmap", "enzyme_perturbations"]


ANALYSIS_INPUT = dict(
    samples=steady_states,
    parameters="results/kinetic/parameters.csv",
    oracle="results/envs/{env}/oracle.csv",
    generator=VALIDATED_GENERATOR,
)
