"""Compose and validate every job of the command line before any work starts.

Hydra reports a bad override with several lines and a hint about HYDRA_FULL_ERROR; a user of a sweep also wants
to hear about the one impossible combination in a grid before the first job trains. Each failure here becomes a
UserError of one line.
"""
import itertools
import shutil
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gan_runner import hardware
from gan_runner.errors import UserError
from gan_runner.metrics import directions
from gan_runner.sweep.slots import SLOTS_ENV
from gan_runner.validate import validate

CONFIG_DIR = Path(__file__).parent / "conf"
MAX_JOBS_CHECKED = 256


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def expand(overrides: list[str]) -> list[list[str]]:
    """Every job a multirun would launch, as override lists (continuous search spaces are left to the sweeper)."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise UserError(f"cannot parse the command line: {str(exc).splitlines()[0]}") from None
    choices, seeds = [], []
    for o in parsed:
        if o.is_sweep_override():
            if o.is_discrete_sweep():
                choices.append([f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()])
        else:
            choices.append([o.input_line])
        if o.get_key_element() == "seed" and len(choices[-1]) > 1:
            # Whether a configuration is possible does not depend on its seed: each configuration is checked
            # with the first seed, and each other seed once, so that seeds do not multiply the checks.
            seeds, choices[-1] = choices[-1][1:], choices[-1][:1]
    jobs = [list(job) for job in itertools.islice(itertools.product(*choices), MAX_JOBS_CHECKED)]
    first_seed = next(o for o in jobs[0] if o.startswith("seed=")) if seeds else None
    return jobs + [[seed if o == first_seed else o for o in jobs[0]] for seed in seeds]


def explain(exc: Exception) -> str:
    """One line for a composition error."""
    text = str(exc)
    for marker in ("Could not find '", "Could not load '"):
        if isinstance(exc, MissingConfigException) and marker in text:
            group, _, option = text.split(marker)[1].split("'")[0].rpartition("/")
            known = group_options(group)
            if known:
                return f"unknown option {group}={option}: choose one of {', '.join(known)}"
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        return f"unknown key {key}: check the spelling with `gan-runner --cfg job`, or add a new key with +{key}=..."
    return text.strip().splitlines()[0]


def key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def hydra_config(overrides: list[str]) -> DictConfig:
    """The composed config with Hydra's own part, for the first job of the command line: an unknown launcher,
    sweeper or hydra key is one line here."""
    first = expand(overrides)[0]
    try:
        return compose("config", overrides=first, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise UserError(explain(exc)) from None


def with_sweep_params(overrides: list[str], composed: DictConfig) -> list[str]:
    """A named sweep's grid (hydra.sweeper.params) joined to the command line, whose values win, as in Hydra's
    sweepers."""
    given = {key_of(o) for o in overrides}
    params = composed.hydra.sweeper.get("params") or {}
    return [*(f"{key}={value}" for key, value in params.items() if key not in given), *overrides]


def launcher_of(composed: DictConfig) -> str:
    """slurm, gpus, or other: what decides where the jobs run."""
    target = str(composed.hydra.launcher.get("_target_", ""))
    if "Slurm" in target:
        return "slurm"
    env = OmegaConf.to_container(composed.hydra.job.env_set, resolve=False) or {}
    return "gpus" if SLOTS_ENV in env else "other"


def check_launcher(launcher: str) -> None:
    if launcher == "slurm" and shutil.which("sbatch") is None:
        raise UserError("hydra/launcher=slurm needs SLURM (no sbatch on PATH): run the command on the cluster's login "
                        "node, or use hydra/launcher=cpus or gpus on this machine")


def check_job(cfg: DictConfig, launcher: str) -> None:
    # A SLURM job's devices are those of its compute node, checked when the job starts there.
    validate(cfg, local_hardware=launcher != "slurm")
    if launcher == "gpus" and hardware.world_size(cfg.trainer) > 1:
        raise UserError("hydra/launcher=gpus runs one job per GPU: set trainer.devices=1, or run a multi-GPU job "
                        "with the default launcher (or hydra/launcher=slurm)")


def check_study(composed: DictConfig, objective: str) -> None:
    """An Optuna study keeps the trials its direction calls best: one that minimizes an accuracy keeps the worst."""
    sweeper = composed.hydra.sweeper
    if "optuna" not in str(sweeper.get("_target_", "")):
        return
    given = getattr(sweeper.direction, "name", sweeper.direction)  # the plugin's own default is an enum
    wanted = directions.optuna_direction(objective)
    if given != wanted:
        raise UserError(f"hydra.sweeper.direction={given} disagrees with objective={objective}, which is better "
                        f"{directions.better(objective)}: set hydra.sweeper.direction={wanted}")


def check(overrides: list[str], multirun: bool = False) -> None:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        # output_dir comes from Hydra's runtime, which the compose API does not set; validation never reads it.
        composed = hydra_config(["output_dir=preflight", *overrides])
        launcher = launcher_of(composed) if multirun else "other"
        check_launcher(launcher)
        if multirun:
            overrides = with_sweep_params(overrides, composed)
        jobs = expand(["output_dir=preflight", *(o for o in overrides if not o.startswith(("hydra/", "hydra.")))])
        for job in jobs:
            try:
                cfg = compose("config", overrides=job)
            except (HydraException, OmegaConfBaseException) as exc:
                raise UserError(explain(exc)) from None
            try:
                check_job(cfg, launcher)
                if multirun:
                    check_study(composed, cfg.objective)
            except UserError as exc:
                prefix = f"in job [{' '.join(job[1:])}]: " if len(jobs) > 1 else ""
                raise UserError(f"{prefix}{exc}") from None
