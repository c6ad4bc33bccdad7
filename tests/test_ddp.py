"""One GAN on two processes (DDP on CPU, gloo), started from the command line as a user would; and rank 0's
evaluation on two ranks forked in the test."""
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from omegaconf import OmegaConf

from gan_runner import distributed, identity, preflight, rank, results
from gan_runner.errors import UserError
from gan_runner.metrics.image import frechet_distance
from gan_runner.metrics.reference import Reference, moments
from gan_runner.run import run

# An MLP GAN without BatchNorm, with a gradient penalty (its epsilons are per-sample draws), two D steps per G step and
# an EMA: every per-sample draw and every player's gradients must be shared out and averaged right.
SETTINGS = ["data=ring", "model=mlp", "model.width=16", "constraint=gp", "optimizer.n_critic=2",
            "optimizer.ema_decay=0.9", "metrics.every_n_steps=5", "metrics.num_samples=300",
            "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "trainer.log_every_n_steps=1"]


# Labelled images with periodic and final evaluation: FID, IS, KID and PRDC in the LeNet's space, the class metrics
# and AC-GAN's; BatchNorm in G and D, synchronized over the ranks. With SGD: the biases before a BatchNorm get
# gradients of about 0, whose rounding (summation order differs across 1 and 2 processes) Adam would blow up to
# 1e-3. A rank that waits for the others longer than 60 s fails the run.
IMAGES = ["data=digits", "model=mlp", "model.width=16", "model.depth=2", "model.g_norm=batch", "model.d_norm=batch",
          "variant=acgan", "optimizer=sgd", "trainer.sync_batchnorm=true", "metrics.every_n_steps=5",
          "metrics.num_samples=200", "trainer.max_steps=10", "trainer.ddp_timeout_s=60", "trainer.accelerator=cpu",
          "trainer.enable_progress_bar=false"]


# GLO: no D, a code per image replicated on every rank and stepped by hand from the ranks' averaged gradients
GLO_IMAGES = ["data=digits", "model=dcgan", "model.width=4", "variant=glo", "optimizer=sgd", "optimizer.lr_g=0.1",
              "trainer.sync_batchnorm=true", "metrics.every_n_steps=5", "metrics.num_samples=200",
              "trainer.max_steps=10", "trainer.ddp_timeout_s=60", "trainer.accelerator=cpu",
              "trainer.enable_progress_bar=false"]


TWO, ONE = ["trainer.devices=2", "data.batch_size=32"], ["trainer.devices=1", "data.batch_size=64"]
# InfoGAN adds a head on D's trunk (Q) and draws its codes per sample: both must be shared out like the rest. With
# SGD: under Adam, its information terms leave D gradients near zero whose rounding (summation order differs across
# 1 and 2 processes) Adam's normalization blows up to 1e-4 relative; SGD shows the runs agree to 1e-7. Q without
# its BatchNorm: batch statistics are per rank unless trainer.sync_batchnorm=true (README, several devices).
# VAE-GAN adds an encoder whose posterior noise is drawn per sample, and D scores two kinds of fakes.
# The gan's run is also the uninterrupted one of the resume test: long enough to be killed after its first
# checkpoint and before its end.
GAN_STEPS = 40
VARIANTS = {"gan": [f"trainer.max_steps={GAN_STEPS}", "checkpoint_every_n_steps=10"],
            "infogan": ["trainer.max_steps=10", "variant=infogan", "variant.q_norm=none", "optimizer=sgd"],
            "vaegan": ["trainer.max_steps=10", "variant=vaegan", "loss=minimax", "optimizer=sgd"]}
OWN_NETS = {"infogan": ".heads.q.", "vaegan": "encoder."}  # a key of each variant's network of its own


def command(args, run_dir, settings=SETTINGS):
    return [sys.executable, "-m", "gan_runner", *settings, *args, f"hydra.run.dir={run_dir}"]


def env(cache):
    return {**os.environ, "GAN_RUNNER_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


def gan_runner(args, run_dir, tmp_path, settings=SETTINGS, cache=None):
    out = subprocess.run(command(args, run_dir, settings), capture_output=True, text=True,
                         env=env(cache or tmp_path / "cache"), cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def one_process(cfg_factory, args, run_dir, cache, settings=SETTINGS):
    """The reference run on one process, in this one: a fresh process would add nothing but its imports."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the command's runs (OMP_NUM_THREADS=1)
    try:
        run(cfg_factory([*settings, *args, f"metrics.cache_dir={cache}"], run_dir))
    finally:
        torch.set_num_threads(threads)


def weights(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def assert_same_weights(a, b, exact=False):
    assert a.keys() == b.keys()
    tolerance = {"rtol": 0, "atol": 0} if exact else {"rtol": 1e-5, "atol": 1e-6}
    for key in a:
        torch.testing.assert_close(a[key], b[key], **tolerance, msg=key)


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """variant -> the folder of its run on two processes, made once for the tests that read it."""
    made = {}

    def get(variant):
        if variant not in made:
            tmp = tmp_path_factory.mktemp(variant)
            gan_runner([*TWO, *VARIANTS[variant]], tmp / "two", tmp)
            made[variant] = tmp / "two"
        return made[variant]

    return get


@pytest.mark.heavy
@pytest.mark.parametrize("variant", VARIANTS)
def test_two_processes_train_as_one_process_with_the_global_batch(tmp_path, cfg_factory, two_processes, variant):
    two, one = two_processes(variant), tmp_path / "one"
    one_process(cfg_factory, [*ONE, *VARIANTS[variant]], one, tmp_path / "cache")
    a, b = weights(two), weights(one)
    assert any(k.startswith("ema.") for k in a)
    assert variant not in OWN_NETS or any(OWN_NETS[variant] in k for k in a)  # InfoGAN's Q, VAE-GAN's encoder
    assert_same_weights(a, b)
    # rank 0 alone evaluated and wrote; its numbers are those of a one-process evaluation
    ra, rb = results.read(two / "metrics.json"), results.read(one / "metrics.json")
    assert ra["status"] == rb["status"] == "completed"
    assert [h["step"] for h in ra["history"]] == [h["step"] for h in rb["history"]] == list(range(5, ra["step"], 5))
    assert ra["metrics"]["final"]["w1"] == pytest.approx(rb["metrics"]["final"]["w1"], rel=1e-3)
    assert not list(two.glob("checkpoints/*.tmp"))


@pytest.mark.heavy
@pytest.mark.parametrize("settings, expected", [
    (IMAGES, {"fid", "is_mean", "kid_mean", "precision", "class_kl", "class_accuracy", "intra_fid"}),
    (GLO_IMAGES, {"fid", "recon_fid", "recon_pixel_mse", "recon_feature_mse", "class_kl"})], ids=["acgan", "glo"])
def test_image_data_on_two_processes_trains_and_evaluates_as_one_process(tmp_path, cfg_factory, seeded_cache,
                                                                         settings, expected):
    """Rank 0 evaluates alone while rank 1 trains on (no metric gathers over the ranks, distributed.alone), and the
    BatchNorm layers normalize with the global batch's statistics: weights (GLO's codes too), running statistics,
    history and final metrics are those of one process with the global batch."""
    two, one = tmp_path / "two", tmp_path / "one"
    one_process(cfg_factory, ONE, one, seeded_cache, settings)
    gan_runner(TWO, two, tmp_path, settings, seeded_cache)
    a, b = weights(two), weights(one)
    assert any(k.endswith("running_var") for k in a) and (settings is IMAGES or a["codes"].shape == (1797, 100))
    assert_same_weights(a, b)
    ra, rb = results.read(two / "metrics.json"), results.read(one / "metrics.json")
    assert ra["status"] == rb["status"] == "completed"
    assert [h["step"] for h in ra["history"]] == [h["step"] for h in rb["history"]] == [5]
    final = rb["metrics"]["final"]
    assert expected <= set(final)
    for got, expected in ((ra["history"][0], rb["history"][0]), (ra["metrics"]["final"], final)):
        assert got.keys() == expected.keys()
        for name in expected:
            assert got[name] == pytest.approx(expected[name], rel=1e-4, abs=1e-6), name


def _rank_evaluates_alone(rank, store, out):
    """Rank 0 evaluates (a collective of the runner and torchmetrics' FID, inside distributed.alone as
    evaluation.untouched does) while rank 1 goes on to the next step's all-reduce, where both meet again."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    distributed.set_timeout(10)  # a collective reached by the evaluation fails the test in 10 s, not a hang
    try:
        found = {}
        if rank == 0:
            with distributed.alone():
                found["mean"] = distributed.mean_over_ranks(torch.ones(3))
                features = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
                fid = frechet_distance(Reference(*moments(features), 64, None, "the fakes themselves"))
                fid.update(features, real=False)
                found["fid"] = fid.compute().item()
        step = torch.tensor([float(rank)])
        distributed.average([step])
        torch.save({**found, "step": step.item()}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_rank_0_evaluates_without_waiting_for_the_training_ranks(tmp_path):
    mp.start_processes(_rank_evaluates_alone, args=(tmp_path / "store", tmp_path / "found"), nprocs=2,
                       start_method="fork")
    zero, one = (torch.load(tmp_path / f"found.{rank}") for rank in (0, 1))
    assert zero["mean"].tolist() == [1.0, 1.0, 1.0]  # this process's own value: no all-reduce with rank 1
    assert zero["fid"] == pytest.approx(0, abs=1e-6)  # this process's fakes only: nothing gathered from rank 1
    assert zero["step"] == one["step"] == 0.5  # and the ranks still meet in step


@pytest.mark.heavy
def test_consensus_on_two_processes_is_consensus_on_the_global_batch(tmp_path, cfg_factory):
    """The field v is averaged over the ranks before ‖v‖² is formed: two processes regularize the global batch's
    field, exactly as one process with the global batch does (not the mean of each rank's ‖v_r‖²)."""
    settings = [s for s in SETTINGS if not s.startswith(("optimizer.n_critic", "metrics.every_n_steps"))]
    args = ["optimizer.update=simultaneous", "optimizer.consensus=0.5", "trainer.max_steps=4",
            "metrics.every_n_steps=0"]
    two, one = tmp_path / "two", tmp_path / "one"
    gan_runner([*args, *TWO], two, tmp_path, settings)
    one_process(cfg_factory, [*args, *ONE], one, tmp_path / "cache", settings)
    assert_same_weights(weights(two), weights(one))


@pytest.mark.heavy
def test_two_processes_killed_and_resumed_end_where_an_uninterrupted_run_does(tmp_path, two_processes):
    args = [*TWO, *VARIANTS["gan"]]
    straight, killed = two_processes("gan"), tmp_path / "killed"
    victim = subprocess.Popen(command(args, killed), env=env(tmp_path / "cache"), cwd=tmp_path, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (killed / "checkpoints" / "last.ckpt").exists():
        assert time.monotonic() < deadline and victim.poll() is None, "no checkpoint before the run ended"
        time.sleep(0.02)
    os.killpg(victim.pid, signal.SIGKILL)  # both ranks, as a preemption or an out-of-memory kill would
    victim.wait()
    interrupted = results.read(killed / "metrics.json")
    assert interrupted["status"] == "running" and interrupted["step"] < GAN_STEPS

    gan_runner(args, killed, tmp_path)
    assert results.read(killed / "metrics.json")["status"] == "completed"
    assert_same_weights(weights(straight), weights(killed), exact=True)


@pytest.mark.heavy
def test_a_stuck_rank_ends_the_run_in_one_line_within_the_timeout(tmp_path):
    """Rank 1 stopped (SIGSTOP) mid-training: rank 0's next collective gives up after trainer.ddp_timeout_s, it
    ends the run with a one-line error and kills the stopped rank."""
    timeout_s = 2
    args = ["trainer.devices=2", "data.batch_size=32", "trainer.max_steps=100000", "checkpoint_every_n_steps=10",
            "metrics.every_n_steps=0", f"trainer.ddp_timeout_s={timeout_s}"]
    run_dir = tmp_path / "stuck"
    rank0 = subprocess.Popen(command(args, run_dir), env=env(tmp_path / "cache"), cwd=tmp_path, text=True,
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "checkpoints" / "last.ckpt").exists():
            assert time.monotonic() < deadline and rank0.poll() is None, "no checkpoint before the run ended"
            time.sleep(0.05)
        children = Path(f"/proc/{rank0.pid}/task/{rank0.pid}/children").read_text().split()
        rank1 = next(int(c) for c in children if b"gan_runner.rank" in Path(f"/proc/{c}/cmdline").read_bytes())
        os.kill(rank1, signal.SIGSTOP)
        stopped = time.monotonic()
        _, stderr = rank0.communicate(timeout=60)
        ended = time.monotonic() - stopped
        assert not Path(f"/proc/{rank1}").exists(), "the stopped rank was left behind"  # killed and reaped by rank 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rank0.pid, signal.SIGKILL)  # rank 0's session: rank 1 too, should the test fail
    assert rank0.returncode == 2, stderr[-3000:]
    assert stderr.strip().splitlines() == [stderr.strip()]  # one line
    assert stderr.startswith("gan-runner: error: rank 0 of 2: the other ranks did not answer"), stderr[-3000:]
    assert f"trainer.ddp_timeout_s={timeout_s}" in stderr
    assert ended < timeout_s + 20


@pytest.mark.parametrize(("setting", "message"), [
    ("trainer.ddp_timeout_s=0", "trainer.ddp_timeout_s=0: give the seconds a rank may wait for the others"),
    ("trainer.sync_batchnorm=yes", "trainer.sync_batchnorm='yes': give true or false"),
])
def test_bad_ddp_settings_are_one_line_before_any_work(setting, message):
    with pytest.raises(UserError, match=re.escape(message)):
        preflight.check([setting])


def test_a_run_stopped_by_the_timeout_resumes_with_a_longer_one(cfg_factory):
    """The timeout changes no number: raising it, as the error says, keeps the run's identity (and its folder)."""
    short, long = cfg_factory(["trainer.ddp_timeout_s=2"]), cfg_factory(["trainer.ddp_timeout_s=1200"])
    assert identity.hashes(short) == identity.hashes(long)


def test_a_rank_above_0_ends_on_an_error_in_one_line(tmp_path, cfg_factory, monkeypatch, capsys):
    """A rank > 0 (started as `python -m gan_runner.rank config.yaml`, as every two-process run here does) that
    fails, on a RankLost when rank 0 evaluates for longer than the timeout, prints one line and exits 2, which ends
    rank 0 too (Lightning's observer). Any UserError takes that path: here the config's own."""
    config = tmp_path / "config.yaml"
    OmegaConf.save(cfg_factory(["trainer.ddp_timeout_s=-1"], tmp_path / "run"), config, resolve=True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(sys, "argv", ["gan_runner.rank", str(config)])
    with pytest.raises(SystemExit) as exited:
        rank.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "gan-runner: error: trainer.ddp_timeout_s=-1: give the seconds a rank may wait for the others, a number > 0 "
        "above the time of one evaluation (e.g. 600)"]
