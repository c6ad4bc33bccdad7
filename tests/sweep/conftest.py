"""Real multiruns in subprocesses, on the tiniest settings that still train and evaluate."""
import os
import subprocess
import sys

import pytest

TINY = ["data=ring", "model=mlp", "metrics.num_samples=200", "metrics.every_n_steps=0",
        "trainer.enable_progress_bar=false"]


def cli_env(cwd, **extra):
    # One torch thread per process: tiny nets gain nothing from more, and on 2 busy cores OpenMP threads that wait
    # for each other make a run many times slower.
    return {**os.environ, "GAN_RUNNER_CACHE": str(cwd / "cache"), "WANDB_MODE": "offline", "WANDB_SILENT": "true",
            "OMP_NUM_THREADS": "1", **extra}


def run_cli(args, cwd, module="gan_runner", timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=cli_env(cwd, **(env or {})), cwd=cwd, timeout=timeout)


@pytest.fixture
def gan_runner(tmp_path):
    """gan_runner(args) -> CompletedProcess of `gan-runner args... TINY... trainer.max_steps=10` in tmp_path."""
    return lambda args, **kw: run_cli([*args, *TINY, "trainer.max_steps=10"], tmp_path, **kw)


def job_dirs(sweep):
    """The job folders of a sweep, in job-number order (folders are named by their configuration)."""
    from gan_runner.sweep.collect import collect

    return [job.dir for job in collect(sweep)]
