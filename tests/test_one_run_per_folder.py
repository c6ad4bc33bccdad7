"""One folder, one run: a run claims its folder before anything is written there, a refused run is one line and
leaves the folder as it found it, the claim of a killed process does not outlive it, and default folders of runs
started in the same second differ."""
import os
import socket
import subprocess
import sys

import pytest
import yaml

from gan_runner import results
from gan_runner.errors import FolderRefused
from gan_runner.run import run

TOY = ["data=ring", "model=mlp", "model.width=16", "trainer.enable_progress_bar=false", "metrics.every_n_steps=0",
       "metrics.num_samples=200"]
# Holds a folder's claim until it is killed.
HOLD = ("import sys, time; from pathlib import Path; from gan_runner.claim import claim\n"
        "with claim(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(120)")
# The CLI with Hydra's clock stopped: every run started by it starts in the same second.
SAME_SECOND = ("import datetime, sys; import hydra.core.utils\n"
               "class Frozen(datetime.datetime):\n"
               "    @classmethod\n"
               "    def now(cls, tz=None):\n        return cls(2024, 1, 1, 12, 0, 0)\n"
               "hydra.core.utils.datetime = Frozen\n"
               "from gan_runner.cli import main\nsys.argv[0] = 'gan-runner'\nmain()")


def start_cli(args, cwd, program=None):
    env = {**os.environ, "GAN_RUNNER_CACHE": str(cwd / "cache"), "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", program, *args] if program else [sys.executable, "-m", "gan_runner", *args]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs):
    return [(p.wait(timeout=300), p.stderr.read()) for p in procs]


@pytest.mark.heavy
def test_a_folder_in_use_is_refused_and_freed_when_its_holder_is_killed(cfg_factory, tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(FolderRefused) as err:
            run(cfg_factory([*TOY, "trainer.max_steps=3"], out))
        message = str(err.value)
        assert "\n" not in message and f"is in use by process {holder.pid} on {socket.gethostname()}" in message
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing of a run written
    finally:
        holder.kill()  # SIGKILL: no clean-up runs; the kernel drops the lock with the process
        holder.wait()
    run(cfg_factory([*TOY, "trainer.max_steps=3"], out))
    assert results.read(out / "metrics.json")["status"] == "completed"


def test_two_runs_started_together_in_one_folder_one_trains_the_other_is_refused(tmp_path):
    out = tmp_path / "run"
    procs = {loss: start_cli([*TOY, f"loss={loss}", "trainer.max_steps=20", f"hydra.run.dir={out}"], tmp_path)
             for loss in ("ns", "hinge")}
    ended = dict(zip(procs, finish(procs.values())))
    assert sorted(code for code, _ in ended.values()) == [0, 2], ended
    [winner] = [loss for loss, (code, _) in ended.items() if code == 0]
    [(_, refusal)] = [ended[loss] for loss in ended if loss != winner]
    lines = refusal.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gan-runner: error: "), refusal
    # Whatever the order, the folder is the winner's alone: its config, Hydra's record of it, its result.
    expected = {"ns": "NonSaturating", "hinge": "Hinge"}[winner]
    assert yaml.safe_load((out / "config.yaml").read_text())["loss"]["_target_"].endswith(expected)
    assert f"loss={winner}" in yaml.safe_load((out / ".hydra" / "overrides.yaml").read_text())
    result = results.read(out / "metrics.json")
    assert result["status"] == "completed" and result["step"] == 20


def test_default_folders_of_runs_started_in_the_same_second_differ(tmp_path):
    procs = [start_cli(["--cfg", "hydra", "-p", "hydra.run.dir", "--resolve"], tmp_path, SAME_SECOND) for _ in range(2)]
    folders = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert folders == [f"outputs/runs/2024-01-01_12-00-00_{p.pid}" for p in procs]
