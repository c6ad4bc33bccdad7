"""Preemption with submitit: the job gets USR2, is requeued, and resumes from its last checkpoint in the same
folder, ending with exactly the weights of a run that was never interrupted."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY, cli_env

from gan_runner import results
from gan_runner.run import run

SETTINGS = [*TINY, "model.width=16", "data.batch_size=64", "trainer.max_steps=200", "checkpoint_every_n_steps=20"]


def task_pid(sweep: Path) -> int | None:
    """The submitit task running this sweep's job (not the controller that restarts it)."""
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "submitit.core._submit" in command and str(sweep) in command:
            return int(proc.name)
    return None


def wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.heavy
def test_preempted_job_is_requeued_and_resumes(tmp_path, cfg_factory):
    sweep = tmp_path / "sweep"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "gan_runner", "-m", "hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep}",
         *SETTINGS], env=cli_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: list(sweep.glob("*/checkpoints/last.ckpt")))
    [job] = [ckpt.parents[1] for ckpt in sweep.glob("*/checkpoints/last.ckpt")]  # its only job, mid-run
    os.kill(task_pid(sweep), signal.SIGUSR2)  # what SLURM sends before a time-out, and submitit on preemption
    output = launcher.communicate(timeout=300)[0]
    assert launcher.returncode == 0, output[-3000:]

    log = (job / "gan_runner.log").read_text()
    assert "this job is preempted" in log and "Requeued job" in log
    resumed_from = int(re.search(r"resuming \S+ from iteration (\d+)", log).group(1))
    assert 0 < resumed_from < 200
    result = results.read(job / "metrics.json")
    assert (result["status"], result["step"]) == ("completed", 200)

    # the uninterrupted run in this process, on one thread as the job's (a fresh process would only add its imports)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run(cfg_factory(SETTINGS, tmp_path / "straight"))
    finally:
        torch.set_num_threads(threads)
    requeued, uninterrupted = (torch.load(d / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
                               for d in (job, tmp_path / "straight"))
    for key in uninterrupted:
        torch.testing.assert_close(requeued[key], uninterrupted[key], rtol=0, atol=0, msg=key)
