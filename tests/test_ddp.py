"""One GAN on two processes (DDP on CPU, gloo), started from the command line as a user would."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gan_runner import results

# An MLP GAN without BatchNorm, with a gradient penalty (its epsilons are per-sample draws), two D steps per G step and
# an EMA: every per-sample draw and every player's gradients must be shared out and averaged right.
SETTINGS = ["data=ring", "model=mlp", "model.width=16", "constraint=gp", "optimizer.n_critic=2",
            "optimizer.ema_decay=0.9", "metrics.every_n_steps=5", "metrics.num_samples=300",
            "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "trainer.log_every_n_steps=1"]


def command(args, run_dir, settings=SETTINGS):
    return [sys.executable, "-m", "gan_runner", *settings, *args, f"hydra.run.dir={run_dir}"]


def env(tmp_path):
    return {**os.environ, "GAN_RUNNER_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}


def gan_runner(args, run_dir, tmp_path, settings=SETTINGS):
    out = subprocess.run(command(args, run_dir, settings), capture_output=True, text=True, env=env(tmp_path),
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def weights(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


# InfoGAN adds a head on D's trunk (Q) and draws its codes per sample: both must be shared out like the rest. With
# SGD: under Adam, its information terms leave D gradients near zero whose rounding (summation order differs across
# 1 and 2 processes) Adam's normalization blows up to 1e-4 relative; SGD shows the runs agree to 1e-7. Q without
# its BatchNorm: batch statistics are per rank unless trainer.sync_batchnorm=true (README, several devices).
@pytest.mark.parametrize("variant", [[], ["variant=infogan", "variant.q_norm=none", "optimizer=sgd"]],
                         ids=["gan", "infogan"])
def test_two_processes_train_as_one_process_with_the_global_batch(tmp_path, variant):
    two, one = tmp_path / "two", tmp_path / "one"
    gan_runner(["trainer.devices=2", "data.batch_size=32", "trainer.max_steps=10", *variant], two, tmp_path)
    gan_runner(["trainer.devices=1", "data.batch_size=64", "trainer.max_steps=10", *variant], one, tmp_path)
    a, b = weights(two), weights(one)
    assert a.keys() == b.keys() and any(k.startswith("ema.") for k in a)
    assert not variant or any(".heads.q." in k for k in a)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    # rank 0 alone evaluated and wrote; its numbers are those of a one-process evaluation
    ra, rb = results.read(two / "metrics.json"), results.read(one / "metrics.json")
    assert ra["status"] == rb["status"] == "completed"
    assert [h["step"] for h in ra["history"]] == [h["step"] for h in rb["history"]] == [5]
    assert ra["metrics"]["final"]["w1"] == pytest.approx(rb["metrics"]["final"]["w1"], rel=1e-3)
    assert not list(two.glob("checkpoints/*.tmp"))


def test_consensus_on_two_processes_is_consensus_on_the_global_batch(tmp_path):
    """The field v is averaged over the ranks before ‖v‖² is formed: two processes regularize the global batch's
    field, exactly as one process with the global batch does (not the mean of each rank's ‖v_r‖²)."""
    settings = [s for s in SETTINGS if not s.startswith(("optimizer.n_critic", "metrics.every_n_steps"))]
    args = ["optimizer.update=simultaneous", "optimizer.consensus=0.5", "trainer.max_steps=4",
            "metrics.every_n_steps=0"]
    two, one = tmp_path / "two", tmp_path / "one"
    gan_runner([*args, "trainer.devices=2", "data.batch_size=32"], two, tmp_path, settings)
    gan_runner([*args, "trainer.devices=1", "data.batch_size=64"], one, tmp_path, settings)
    a, b = weights(two), weights(one)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


def test_two_processes_killed_and_resumed_end_where_an_uninterrupted_run_does(tmp_path):
    args = ["trainer.devices=2", "data.batch_size=32", "trainer.max_steps=150", "checkpoint_every_n_steps=10",
            "metrics.every_n_steps=0"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    gan_runner(args, straight, tmp_path)

    victim = subprocess.Popen(command(args, killed), env=env(tmp_path), cwd=tmp_path, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (killed / "checkpoints" / "last.ckpt").exists():
        assert time.monotonic() < deadline and victim.poll() is None, "no checkpoint before the run ended"
        time.sleep(0.02)
    os.killpg(victim.pid, signal.SIGKILL)  # both ranks, as a preemption or an out-of-memory kill would
    victim.wait()
    interrupted = results.read(killed / "metrics.json")
    assert interrupted["status"] == "running" and interrupted["step"] < 150

    gan_runner(args, killed, tmp_path)
    assert results.read(killed / "metrics.json")["status"] == "completed"
    a, b = weights(straight), weights(killed)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
