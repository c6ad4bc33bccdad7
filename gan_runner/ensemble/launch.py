"""The ensemble launcher's first pass: the jobs of a sweep that differ only in `seed` are trained together
(run.py of this package), at most `max_members` at a time; the launcher then runs every job as the basic launcher
does, and the jobs trained together find their runs completed and return them as recorded. A group that cannot
train together is left to its jobs, and the console says why in one line."""
import copy
import logging
import os
from collections.abc import Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import filter_overrides
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

log = logging.getLogger(__name__)


def seed_groups(job_overrides: Sequence[Sequence[str]], max_members: int) -> list[list[int]]:
    """Indices of jobs whose overrides agree but for `seed=`, in groups of at most `max_members`; a larger group is
    split evenly (33 seeds at most 32 at a time: 17 and 16, not 32 and one left alone)."""
    if max_members < 1:
        raise ValueError(f"hydra.launcher.max_members={max_members}: an ensemble needs at least one member")
    groups: dict[tuple, list[int]] = {}
    for i, overrides in enumerate(job_overrides):
        groups.setdefault(tuple(o for o in overrides if not o.startswith("seed=")), []).append(i)
    return [part for indices in groups.values() for part in _even_parts(indices, max_members)]


def _even_parts(indices: list[int], most: int) -> list[list[int]]:
    count = -(-len(indices) // most)
    size, larger = divmod(len(indices), count)
    bounds = [0]
    for j in range(count):
        bounds.append(bounds[-1] + size + (j < larger))
    return [indices[a:b] for a, b in zip(bounds, bounds[1:])]


def job_config(hydra_context, config: DictConfig, overrides: Sequence[str], idx: int) -> tuple[DictConfig, DictConfig]:
    """(the job's Hydra config, its task config resolved), composed as Hydra's run_job composes a sweep job's."""
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = sweep_config.hydra.job.num = idx
    HydraConfig.instance().set_config(sweep_config)
    output_dir = os.path.join(str(sweep_config.hydra.sweep.dir), str(OmegaConf.select(sweep_config,
                                                                                       "hydra.sweep.subdir")))
    with read_write(sweep_config.hydra.runtime), open_dict(sweep_config.hydra.runtime):
        sweep_config.hydra.runtime.output_dir = os.path.abspath(output_dir)
    HydraConfig.instance().set_config(sweep_config)
    task = copy.deepcopy(sweep_config)
    with read_write(task), open_dict(task):
        del task["hydra"]
    OmegaConf.resolve(task)
    return sweep_config, task


def train_groups(hydra_context, config: DictConfig, job_overrides: Sequence[Sequence[str]], initial_job_idx: int,
                 max_members: int) -> None:
    from gan_runner.ensemble.run import train_together  # torch and Lightning: only when there is a sweep to run

    before = HydraConfig.instance().cfg
    try:
        for group in seed_groups(job_overrides, max_members):
            if len(group) < 2:
                continue
            composed = [job_config(hydra_context, config, job_overrides[i], initial_job_idx + i) for i in group]
            HydraConfig.instance().set_config(composed[0][0])  # what a job's code reads of Hydra (its choices)
            label = " ".join(o for o in filter_overrides(job_overrides[group[0]]) if not o.startswith("seed="))
            reason = train_together([task for _, task in composed])
            if reason:
                log.info("seeds of [%s] run one by one: %s", label or "the base configuration", reason)
    finally:
        if before is not None:
            HydraConfig.instance().set_config(before)
