"""The command that resumes a sweep: its own command line, run again in its own folder.

Jobs live in folders named by their configuration, so the same command with hydra.sweep.dir=<the sweep's folder>
skips completed jobs (they return their results), resumes interrupted ones from their checkpoints and runs the
rest. Hydra keeps the command line of a multirun in <sweep>/multirun.yaml.
"""
import shlex
from pathlib import Path

import yaml

_DROPPED = ("hydra.mode=", "hydra.sweep.dir=")


def resume_command(sweep_dir: Path) -> str | None:
    """`gan-runner -m ... hydra.sweep.dir=<sweep_dir>`, or None when the folder holds no multirun.yaml."""
    try:
        overrides = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())["hydra"]["overrides"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    words = [*overrides.get("task", []), *(o for o in overrides.get("hydra", []) if not o.startswith(_DROPPED))]
    return shlex.join(["gan-runner", "-m", *words, f"hydra.sweep.dir={sweep_dir}"])
