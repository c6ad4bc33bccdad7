"""Config resolvers of the launcher presets (conf/hydra/launcher/), of the wandb logger and of the Optuna sweep presets
(conf/sweep/: the study's direction follows the objective's, metrics/directions.py).

Registered when the gan_runner package is imported (gan_runner/__init__.py): in the launching process, in every
joblib worker (unpickling the task function imports it), and wherever tests or scripts compose a config.
"""
import hashlib
import os
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from gan_runner import identity
from gan_runner.metrics import directions
from gan_runner.sweep.slots import visible_gpus


def cores() -> int:
    """Cores this process may use (its CPU affinity, which honours taskset and cgroup cpusets)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_share(n) -> int:
    """cores // n, at least 1: jobs at once for n threads each, or threads each for n jobs at once."""
    return max(1, cores() // int(n))


def gpu_count() -> int:
    found = len(visible_gpus())
    if not found:
        # exits rather than raises: Hydra would print a resolver's exception with pages of traceback
        print("gan-runner: error: hydra/launcher=gpus found no GPU: set hydra.launcher.n_jobs=N to simulate N GPU "
              "slots", file=sys.stderr)
        sys.exit(2)
    return found


def gpus_per_node(accelerator: str, devices) -> int | None:
    """SLURM's --gpus-per-node: the devices when the run asks for GPUs, else none requested (null)."""
    return int(devices) if str(accelerator) in ("gpu", "cuda") else None


def sweep_name() -> str | None:
    """The sweep folder's name in a multirun (wandb groups the runs of one sweep under it), else None."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().sweep.dir).name


def job_name() -> str | None:
    """The job's overrides, e.g. `loss=hinge,seed=1` (a run's wandb name)."""
    if not HydraConfig.initialized():
        return None
    return HydraConfig.get().job.override_dirname or None


MAX_DIR_NAME = 200


def job_dir() -> str:
    """A sweep job's folder: its overrides (`constraint=gp,loss=hinge,seed=1`), so that the same configuration
    always lands in the same folder and a sweep run again in its folder resumes, job by job. Overrides that change
    no number (identity.OPERATIONAL: the progress bar, the logger, the DDP timeout, ...) are left out, as the run's
    identity leaves them out. Over-long names keep their start and end a hash of the whole."""
    kept = [o for o in HydraConfig.get().overrides.task
            if not identity.matches(o.split("=", 1)[0].lstrip("+~"), identity.OPERATIONAL)]
    name = (",".join(sorted(kept)) or "defaults").replace("/", "_")
    if len(name) > MAX_DIR_NAME:
        name = f"{name[:MAX_DIR_NAME - 17]}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    return name


def times(a: int, b: int) -> int:
    """a * b, for a preset whose batch is a number of packs (`${gan_runner.times:100,${model.pack}}`)."""
    return int(a) * int(b)


def register() -> None:
    for name, fn in [("cpu_share", cpu_share), ("gpus", gpu_count), ("gpus_per_node", gpus_per_node), ("times", times),
                     ("sweep_name", sweep_name), ("job_name", job_name), ("job_dir", job_dir),
                     ("pid", os.getpid), ("direction", directions.optuna_direction)]:
        OmegaConf.register_new_resolver(f"gan_runner.{name}", fn, replace=True)
