"""hydra/launcher=ensemble from the command line, on image data with periodic and final evaluation: the seeds of a
configuration train together, each job's folder is what its seed alone would leave (weights, evaluations,
checkpoint), the same command after a kill resumes the ensemble from its members' checkpoints, and a configuration
the ensemble cannot train runs job by job with the reason on the console."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import cli_env, run_cli

from gan_runner import results
from gan_runner.ensemble.launch import seed_groups
from gan_runner.run import run
from gan_runner.sweep.collect import collect

SETTINGS = ["data=digits", "model=dcgan", "model.width=4", "model.z_dim=8", "model.d_norm=batch", "optimizer=adam",
            "data.batch_size=16", "metrics.num_samples=200", "metrics.every_n_steps=10", "checkpoint_every_n_steps=10",
            "trainer.log_every_n_steps=5", "trainer.enable_progress_bar=false", "trainer.max_steps=40"]
ARGS = ["-m", "hydra/launcher=ensemble", *SETTINGS, "seed=0,1"]


def alone(cfg_factory, out):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the command's (OMP_NUM_THREADS=1)
    try:
        run(cfg_factory([*SETTINGS, "seed=1"], out))
    finally:
        torch.set_num_threads(threads)
    return out


def assert_same_run(member, solo):
    a, b = results.read(member / "metrics.json"), results.read(solo / "metrics.json")
    assert a["status"] == b["status"] == "completed" and a["step"] == b["step"]
    assert a["ensemble"] == {"seeds": [0, 1]}
    assert [h["step"] for h in a["history"]] == [h["step"] for h in b["history"]] == [10, 20, 30]
    for got, expected in [*zip(a["history"], b["history"]), (a["metrics"]["final"], b["metrics"]["final"])]:
        assert got.keys() == expected.keys() and "fid" in expected
        for name in expected:
            assert got[name] == pytest.approx(expected[name], rel=1e-4, abs=1e-6), name
    wa, wb = (torch.load(d / "checkpoints" / "last.ckpt", weights_only=True) for d in (member, solo))
    assert wa["state_dict"].keys() == wb["state_dict"].keys()
    for key in wb["state_dict"]:
        torch.testing.assert_close(wa["state_dict"][key], wb["state_dict"][key], rtol=1e-5, atol=1e-6, msg=key)
    assert torch.equal(wa["gan_runner"]["rng"]["torch"], wb["gan_runner"]["rng"]["torch"])
    assert (member / "samples" / "final.png").exists() and (member / "samples" / "step_000010.png").exists()


@pytest.mark.heavy
def test_seeds_train_together_resume_after_a_kill_and_each_folder_is_its_seed_alone(tmp_path, cfg_factory,
                                                                                   seeded_cache):
    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "gan_runner", *ARGS, f"hydra.sweep.dir={sweep}"]
    victim = subprocess.Popen(command, env=cli_env(tmp_path), cwd=tmp_path, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(sweep.glob("*seed=1*/checkpoints/last.ckpt")):  # the last member's first checkpoint
        assert time.monotonic() < deadline and victim.poll() is None, "no checkpoint before the ensemble ended"
        time.sleep(0.02)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    member = next(sweep.glob("*seed=1*"))
    assert results.read(member / "metrics.json")["status"] == "running"

    out = run_cli([*ARGS, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "training seeds 0,1 together as one ensemble, resumed from iteration 10" in out.stdout + out.stderr
    assert len(collect(sweep)) == 2
    assert_same_run(member, alone(cfg_factory, tmp_path / "alone"))
    rows = (member / "logs" / "metrics.csv").read_text().splitlines()
    assert "d_loss" in rows[0].split(",") and len(rows) > 8  # a row every 5 iterations, those before the kill kept


def test_seeds_the_ensemble_cannot_train_run_one_by_one_and_say_why(gan_runner, tmp_path):
    out = gan_runner(["-m", "hydra/launcher=ensemble", "model.d_noise=0.1", "seed=0,1",
                      f"hydra.sweep.dir={tmp_path / 's'}"])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "run one by one: model.d_noise > 0: D's hidden noise layers have no stacked form" in out.stdout + out.stderr
    assert [results.read(job.dir / "metrics.json")["status"] for job in collect(tmp_path / "s")] == ["completed"] * 2


def test_jobs_that_differ_only_in_their_seed_are_grouped_up_to_the_largest_ensemble_evenly():
    jobs = [["loss=ns", f"seed={s}"] for s in range(5)] + [["loss=hinge", "seed=0"], ["loss=hinge", "seed=1"]]
    assert seed_groups(jobs, max_members=2) == [[0, 1], [2, 3], [4], [5, 6]]
    assert seed_groups(jobs, max_members=4) == [[0, 1, 2], [3, 4], [5, 6]]
    assert [len(g) for g in seed_groups([[f"seed={s}"] for s in range(33)], max_members=32)] == [17, 16]
    with pytest.raises(ValueError, match="hydra.launcher.max_members=0: an ensemble needs at least one member"):
        seed_groups(jobs, max_members=0)
