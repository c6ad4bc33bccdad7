"""The command line as a user types it: subprocesses, real Hydra, one-line errors for bad input."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_runner import results
from gan_runner.cli import main

FAST = ["data=ring", "model=mlp", "model.width=16", "trainer.max_steps=6", "metrics.every_n_steps=3",
        "metrics.num_samples=200", "trainer.enable_progress_bar=false"]


def command_env(tmp_path):
    return {"GAN_RUNNER_CACHE": str(tmp_path / "cache"), "WANDB_MODE": "offline",
            "TORCH_HOME": str(tmp_path / "torch")}  # no Inception weights, whatever this machine holds


def gan_runner(args, tmp_path, **kw):
    return subprocess.run([sys.executable, "-m", "gan_runner", *args], capture_output=True, text=True,
                          env={**os.environ, **command_env(tmp_path)}, cwd=tmp_path, timeout=300, **kw)


@pytest.fixture
def refused(tmp_path, monkeypatch, capsys):
    """refused(args) -> the stderr of `gan-runner args...` that must exit with code 2, through the command's entry
    point in this process: a refusal comes before any work, and a fresh process would spend its seconds importing
    torch (test_a_refusal_is_one_line_from_the_command_itself runs one as a user does)."""
    def run(args, env=None):
        for name, value in {**command_env(tmp_path), **(env or {})}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "argv", ["gan-runner", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == 2
        return capsys.readouterr().err

    return run


@pytest.mark.heavy
def test_help_lists_groups_and_options(tmp_path):
    out = gan_runner(["--help"], tmp_path)
    assert out.returncode == 0
    conf = Path(__file__).parents[1] / "gan_runner" / "conf"
    for group in ["model", "loss", "constraint", "optimizer", "data", "logger", "variant", "experiment"]:
        options = sorted(p.stem for p in (conf / group).glob("*.yaml"))
        assert f"{group}: {', '.join(options)}" in out.stdout
    assert "trainer:\n  max_steps: 3600" in out.stdout  # defaults are listed too
    footer = " ".join(out.stdout.split())  # the variants' presets are named in the footer
    assert "Presets of the variants (experiment=, each with its paper's settings on mnist5k): cgan, projection, " \
           "acgan, infogan, catgan, ebgan, vaegan, deepsim, glo;" in footer
    launchers = sorted(p.stem for p in (conf / "hydra" / "launcher").glob("*.yaml"))
    assert all(f"{name} (" in out.stdout for name in launchers)  # Hydra's own group, listed by our footer


@pytest.mark.heavy
def test_a_run_writes_its_results(tmp_path):
    run_dir = tmp_path / "run"
    out = gan_runner([*FAST, f"hydra.run.dir={run_dir}", "logger=tensorboard"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    expected = ["config.yaml", "metrics.json", "checkpoints/last.ckpt", "samples/final.png", "samples/step_000003.png"]
    for name in expected:
        assert (run_dir / name).exists(), name
    assert list((run_dir / "logs").glob("events.out.tfevents*"))
    console = out.stdout + out.stderr
    for noise in ("litlogger", "GPU available", "TPU available", "max_epochs=1", "smaller than the logging interval",
                  "LeafSpec"):
        assert noise not in console, noise


BAD = [
    (["loss=foo"], "unknown option loss=foo: choose one of energy, fgan, hinge, likelihood_ratio, ls, minimax, ml, "
                   "ns, ragan, rsgan, wasserstein"),
    (["optimizer.lr_d=abc"], "optimizer.lr_d='abc' is not a number: pass one"),
    (["optimizer.lr_g=-1e-4"], "optimizer.lr_g=-0.0001 must be > 0.0"),
    (["data.batch_size=0"], "data.batch_size=0 must be > 0"),
    (["optimizer.nesterov=true"], "unknown key optimizer.nesterov"),
    (["data=ring"], "model=dcgan_fc needs images but data=ring is 2-D points: use model=mlp"),
    (["constraint=gp", "model.d_norm=batch"], "constraint gp needs per-sample gradients"),
    (["-m", "loss=ns,hinge", "constraint=none,gp", "model.d_norm=batch"], "in job [loss=ns constraint=gp"),
    (["-m", "sweep=losses_constraints", "model.d_norm=batch"], "in job [loss=ns constraint=gp"),  # a named grid
    (["data=folder"], "data.root has no value: pass data.root=... on the command line"),
    (["constraint=[sn,foo]"], "unknown option constraint=foo"),
    # each component checks its own keys
    (["model.width=2.5"], "model.width=2.5 must be an integer"),
    (["model.init=xavier"], "model.init='xavier': choose torch or normal"),
    (["model.init=normal", "model.d_norm=weight"], "model.init=normal draws the weights that weight norm"),
    (["model.leak=1"], "model.leak=1 must be in [0, 1): the negative slope of D's LeakyReLU"),
    (["model.d_noise=-0.1"], "model.d_noise=-0.1 must be >= 0: the standard deviation of the Gaussian noise"),
    (["model=mlp", "data=ring", "model.depth=0"], "model.depth=0 must be > 0"),
    (["constraint=gp", "constraint.gp.weight=-1"], "constraint.gp: weight must be >= 0"),
    (["constraint=dragan", "constraint.dragan.mode=both"], "mode in ('paper', 'code')"),
    (["loss.real_label=1.5"], "loss.real_label must be in (0, 1]"),
    (["data=ring", "model=mlp", "data.batch_size=60000"],
     "data.batch_size=60000 exceeds the 50000 training points of data=ring"),
    # hardware that is not there, ways of training that would not be exact
    (["trainer.accelerator=gpu"], "trainer.accelerator=gpu but this machine has no usable CUDA GPU"),
    (["trainer.accelerator=cpu", "trainer.devices=0"], "trainer.devices=0: on CPU give a number of processes"),
    (["trainer.strategy=fsdp"], "trainer.strategy=fsdp is not supported"),
    (["trainer.precision=16-mixed"], "trainer.precision=16-mixed needs a GPU: on CPU use trainer.precision=bf16-mixed"),
    (["trainer.precision=bf16-true"], "trainer.precision=bf16-true is not supported"),
    # Hydra's own usage errors
    (["-m", "--cfg", "job"], "-m runs a sweep, --cfg and --info only print"),
    (["hydra/launcher=foo"], "unknown option hydra/launcher=foo: choose one of cpus, ensemble, gpus, slurm"),
    (["-m", "hydra/launcher=slurm", "loss=ns,hinge"], "hydra/launcher=slurm needs SLURM (no sbatch on PATH)"),
    (["-m", "hydra/launcher=gpus", "hydra.launcher.n_jobs=2", "trainer.accelerator=cpu", "trainer.devices=2"],
     "hydra/launcher=gpus runs one job per GPU: set trainer.devices=1"),
    # the Dirac-GAN and consensus optimization
    (["data=dirac"], "model=dcgan_fc needs images but data=dirac is the Dirac-GAN's point mass at 0: use model=dirac"),
    (["model=dirac"], "model=dirac is the Dirac-GAN's one-parameter G and D, whose data is a point mass at 0: use "
                      "data=dirac (not data=mnist5k)"),
    (["experiment=dirac", "constraint=sn"], "constraint sn makes no sense for the Dirac-GAN: it divides the 1x1 "
                                            "weight by its spectral norm"),
    (["optimizer.consensus=1"], "optimizer.consensus=1 regularizes the simultaneous gradient field (Mescheder 2017, "
                                "Algorithm 1): set optimizer.update=simultaneous"),
    (["optimizer.update=simultaneous", "optimizer.g_steps=2"],
     "optimizer.update=simultaneous takes one G step per D step: set optimizer.g_steps=1"),
    (["data.batch_size=6000"], "data.batch_size=6000 exceeds the 5000 mnist5k images: set data.batch_size to at most "
                               "5000"),
    (["trainer.devices=2", "data.batch_size=3000"], "data.batch_size=3000 x 2 ranks exceeds the 5000 mnist5k images: "
                                                    "set data.batch_size to at most 2500"),
    (["data=digits", "metrics.num_samples=2000"], "metrics.num_samples=2000 exceeds the 1797 digits images"),
    (["metrics.extractor=vgg"], "metrics.extractor='vgg': choose auto, lenet, random, inception"),
    (["metrics.reference=all"], "metrics.reference='all': choose sample or train_set"),
    (["data=ring", "model=mlp", "metrics.reference=train_set"], "metrics.reference=train_set is for images"),
    (["metrics=standard"], "no Inception weights at"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_before_any_work(tmp_path, refused, args, message):
    run_dir = tmp_path / "run"
    stderr = refused([*args, f"hydra.run.dir={run_dir}", f"hydra.sweep.dir={run_dir}"])
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], stderr
    assert "Traceback" not in stderr
    assert not run_dir.exists()


@pytest.mark.heavy
def test_a_refusal_is_one_line_from_the_command_itself(tmp_path):
    """The installed entry point as a user starts it: a fresh process whose imports print nothing either."""
    run_dir = tmp_path / "run"
    out = gan_runner(["loss=foo", f"hydra.run.dir={run_dir}"], tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["gan-runner: error: unknown option loss=foo: choose one of energy, "
                                               "fgan, hinge, likelihood_ratio, ls, minimax, ml, ns, ragan, rsgan, "
                                               "wasserstein"]
    assert out.stdout == "" and not run_dir.exists()


@pytest.mark.parametrize("blocked", ["a file in its place", "a read-only folder"])
def test_an_unwritable_cache_is_one_line_before_any_training(tmp_path, refused, blocked):
    cache, run_dir = tmp_path / "blocked_cache", tmp_path / "run"
    if blocked == "a file in its place":
        cache.write_text("not a folder")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        cache.mkdir(mode=0o555)
    err = refused(["data=digits", "model=mlp", "trainer.max_steps=2", "metrics.every_n_steps=0",
                   "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}"],
                  env={"GAN_RUNNER_CACHE": str(cache)})
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gan-runner: error: cache folder {cache} cannot be written ("), err
    assert lines[0].endswith("set GAN_RUNNER_CACHE (or metrics.cache_dir) to a folder you can write, or make this one "
                             "writable")
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "checkpoints").exists()


def test_wandb_online_without_credentials_is_refused(tmp_path, refused):
    run_dir = tmp_path / "run"
    env = {**{k: None for k in os.environ if k.startswith("WANDB_")}, "WANDB_MODE": None, "HOME": str(tmp_path),
           "NETRC": str(tmp_path / "netrc")}
    stderr = refused(["logger=wandb", "logger.offline=false", f"hydra.run.dir={run_dir}"], env)
    assert stderr.strip().splitlines() == ["gan-runner: error: logger.offline=false needs wandb credentials for "
                                           "api.wandb.ai: run `wandb login` (or set WANDB_API_KEY), or keep "
                                           "logger.offline=true and `wandb sync` later"]
    assert not run_dir.exists()


@pytest.mark.heavy
def test_a_dirac_run_writes_its_trajectory_picture_and_metrics(tmp_path):
    run_dir = tmp_path / "run"
    out = gan_runner(["experiment=dirac", "loss=minimax", "constraint=r1", "constraint.r1.gamma=0.3",
                      "trainer.max_steps=300", "metrics.every_n_steps=100", "trainer.enable_progress_bar=false",
                      f"hydra.run.dir={run_dir}"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    for picture in ("step_000100", "step_000200", "final"):
        assert (run_dir / "samples" / f"{picture}.png").stat().st_size > 10_000, picture
    rows = (run_dir / "samples" / "final.csv").read_text().splitlines()
    assert rows[0] == "iteration,theta,psi" and rows[1] == "0,1,1" and len(rows) == 302
    assert len((run_dir / "samples" / "step_000100.csv").read_text().splitlines()) == 102
    result = results.read(run_dir / "metrics.json")
    final = result["metrics"]["final"]
    assert result["objective"] == "distance" and final["converged"] == 1.0 and final["distance"] < 0.01
    assert final["theta"] == pytest.approx(float(rows[-1].split(",")[1]))
    # R1 of weight γ: -γ/2 ± √(γ²/4 - f'(0)²), f'(0) = 1/2 (tests/test_dirac.py checks these closed forms, and why
    # float32 means over the batch allow 1e-4)
    assert (final["field_eig1_re"], final["field_eig1_im"]) == pytest.approx((-0.15, math.sqrt(0.25 - 0.15**2)),
                                                                             abs=1e-4)
    assert [h["step"] for h in result["history"]] == [100, 200]


@pytest.mark.heavy
def test_missing_data_names_the_path_and_the_download_option(tmp_path):
    run_dir = tmp_path / "run"
    out = gan_runner(["data=mnist", f"data.root={tmp_path / 'nowhere'}", f"hydra.run.dir={run_dir}"], tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "nowhere" in lines[0] and "data.download=true" in lines[0], out.stderr
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "config.yaml").exists()


def test_an_impossible_evaluation_is_refused_before_any_file_of_a_run(tmp_path, refused):
    run_dir = tmp_path / "run"
    stderr = refused(["data=ring", "model=mlp", "metrics.num_samples=100000", f"hydra.run.dir={run_dir}"])
    assert stderr.strip().splitlines() == ["gan-runner: error: metrics.num_samples=100000 exceeds the 50000 "
                                           "training points of data=ring: set metrics.num_samples to at most 50000"]
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "config.yaml").exists()


@pytest.mark.heavy
def test_corrupt_checkpoint_is_refused_and_kept(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    garbage = b"not a checkpoint at all"
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(garbage)
    out = gan_runner([*FAST, f"hydra.run.dir={run_dir}"], tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be resumed" in lines[0] and "last.ckpt" in lines[0], out.stderr
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == garbage
    assert not (run_dir / "metrics.json").exists()


@pytest.fixture
def flat_folder(tmp_path):
    """40 small PNGs, no class subfolders (the CelebA layout)."""
    root = tmp_path / "images"
    root.mkdir()
    for i in range(40):
        pixels = np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{i:02d}.png")
    return root


FOLDER_BAD = [
    (["data.batch_size=64"], "data.batch_size=64 exceeds the 40 images in data.root={root}: set data.batch_size to "
                             "at most 40"),
    (["data.batch_size=8", "metrics.num_samples=100"], "metrics.num_samples=100 exceeds the 40 images in "
                                                       "data.root={root}: set metrics.num_samples to at most 40"),
    (["data.batch_size=8", "metrics.num_samples=40", "metrics.extractor=lenet"],
     "data.root={root} has no class subfolders, so no labels to train the LeNet feature space on"),
    (["data.channels=4"], "data.channels=4 must be 1 (grayscale) or 3 (RGB)"),
    (["data.root={root}/nowhere"], "image folder {root}/nowhere does not exist"),
]


@pytest.mark.parametrize("args, message", FOLDER_BAD, ids=[" ".join(a) for a, _ in FOLDER_BAD])
def test_bad_folder_input_is_one_line_before_any_decoding(tmp_path, refused, flat_folder, args, message):
    run_dir = tmp_path / "run"
    given = [a.format(root=flat_folder) for a in args]
    stderr = refused(["data=folder", f"data.root={flat_folder}", *given, f"hydra.run.dir={run_dir}"])
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gan-runner: error: ")
    assert message.format(root=flat_folder) in lines[0]
    assert not run_dir.exists() and not (tmp_path / "cache").exists()  # nothing decoded, nothing written


@pytest.mark.heavy
def test_an_unlabelled_folder_trains_with_the_default_metrics(tmp_path, flat_folder):
    run_dir = tmp_path / "run"
    out = gan_runner(["data=folder", f"data.root={flat_folder}", "data.image_size=16", "data.batch_size=8",
                      "model.width=8", "metrics.num_samples=32", "trainer.max_steps=2", "metrics.every_n_steps=0",
                      "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((run_dir / "metrics.json").read_text())
    assert result["status"] == "completed"
    protocol = result["metrics"]["protocol"]
    assert protocol["extractor"] == "random"
    assert protocol["chosen_by"] == "metrics.extractor=auto: the data has no labels"
    assert protocol["metrics"] == ["fid", "kid", "prdc"] and "limits" in protocol
    assert set(result["metrics"]["final"]) == {"fid", "kid_mean", "kid_std", "precision", "recall", "density",
                                               "coverage"}  # no IS without classes
    assert len(list((tmp_path / "cache" / "decoded").glob("images-16px-3c-*.npy"))) == 1
