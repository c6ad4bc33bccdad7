"""A run's identity is its configuration: a folder's results are returned, resumed or extended only for the same one,
and a sweep run again in its folder runs only what is missing."""
import subprocess
import sys

import pytest
import torch

from gan_runner import results
from gan_runner.errors import FolderRefused, UserError
from gan_runner.run import run
from gan_runner.sweep.resume import resume_command

TOY = ["data=ring", "model=mlp", "model.width=16", "trainer.enable_progress_bar=false", "metrics.every_n_steps=0",
       "metrics.num_samples=200", "checkpoint_every_n_steps=3"]


def stamps(out):
    return [(out / name).stat().st_mtime_ns for name in ("metrics.json", "checkpoints/last.ckpt", "config.yaml")]


def weights(out):
    return torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def test_another_configuration_in_the_same_folder_is_refused_and_changes_nothing(cfg_factory, tmp_path):
    out = tmp_path / "run"
    run(cfg_factory([*TOY, "trainer.max_steps=3", "loss=ns"], out))
    before = stamps(out)
    for changed in (["loss=hinge"], ["optimizer.lr_d=1e-3"], ["trainer.max_steps=6", "seed=1"]):
        with pytest.raises(UserError) as err:
            run(cfg_factory([*TOY, "trainer.max_steps=3", *changed], out))
        message = str(err.value)
        assert "\n" not in message and "holds a run of another configuration" in message and "hydra.run.dir" in message
    assert "loss._target_=gan_runner.losses.NonSaturating there, gan_runner.losses.Hinge now" in str(
        pytest.raises(UserError, run, cfg_factory([*TOY, "trainer.max_steps=3", "loss=hinge"], out)).value)
    assert stamps(out) == before


def test_a_folder_without_its_metrics_json_keeps_its_identity(cfg_factory, tmp_path):
    """ns trained, metrics.json deleted, then hinge with another lr_d and more iterations in the same folder: refused
    by config.yaml alone (checkpoint moved away), and by the checkpoint alone (config.yaml deleted); ns resumes."""
    out = tmp_path / "run"
    run(cfg_factory([*TOY, "loss=ns", "trainer.max_steps=6"], out))
    (out / "metrics.json").unlink()
    checkpoint = out / "checkpoints" / "last.ckpt"
    kept = checkpoint.read_bytes()
    checkpoint.unlink()
    other = cfg_factory([*TOY, "loss=hinge", "optimizer.lr_d=1e-3", "trainer.max_steps=12"], out)
    assert ("holds a run of another configuration: loss._target_=gan_runner.losses.NonSaturating there, "
            "gan_runner.losses.Hinge now (and 2 more keys)") in str(pytest.raises(FolderRefused, run, other).value)
    checkpoint.write_bytes(kept)
    (out / "config.yaml").unlink()
    with pytest.raises(FolderRefused, match=r"holds a run of another configuration \(so says its checkpoint"):
        run(other)
    assert checkpoint.read_bytes() == kept
    assert not (out / "metrics.json").exists() and not (out / "config.yaml").exists()
    run(cfg_factory([*TOY, "loss=ns", "trainer.max_steps=12"], out))
    assert results.read(out / "metrics.json")["step"] == 12


@pytest.mark.parametrize("checkpoint_record", [
    lambda record: {**record, "config_hash": {**record["config_hash"], "training": "0123456789abcdef"}},
    lambda record: {"training": "0123456789abcdef", "data": None},  # the first versions' layout
], ids=["today's layout", "first layout"])
def test_a_hash_recorded_under_older_rules_gives_way_to_the_same_config_yaml(cfg_factory, tmp_path,
                                                                              checkpoint_record):
    """A key found later to change no number (the logger) changes the hash an older version recorded, not the
    training: metrics.json and the checkpoint with such a hash extend when config.yaml, hashed today, agrees."""
    out = tmp_path / "run"
    run(cfg_factory([*TOY, "trainer.max_steps=3"], out))
    record = results.read(out / "metrics.json")
    today = record["config_hash"]["training"]
    record["config_hash"]["training"] = "0123456789abcdef"
    results.write(out / "metrics.json", record)
    path = out / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["identity"] = checkpoint_record(checkpoint["identity"])
    torch.save(checkpoint, path)
    with pytest.raises(FolderRefused, match="another configuration"):  # config.yaml itself says otherwise
        run(cfg_factory([*TOY, "trainer.max_steps=6", "seed=1"], out))
    run(cfg_factory([*TOY, "trainer.max_steps=6"], out))
    extended = results.read(out / "metrics.json")
    assert extended["step"] == 6 and extended["config_hash"]["training"] == today


@pytest.mark.parametrize("schedule, key", [(["constraint=noise"], "constraint.noise.anneal_steps"),
                                           (["optimizer.lr_decay=linear"], "optimizer.lr_decay_steps")])
def test_a_horizon_that_follows_max_steps_is_not_extended_silently(cfg_factory, tmp_path, schedule, key):
    out = tmp_path / "run"
    run(cfg_factory([*TOY, *schedule, "trainer.max_steps=4"], out))
    with pytest.raises(UserError, match=f"{key}=4 there, 8 now; {key} follows trainer.max_steps; to extend the run "
                                        f"with its first horizon pass {key}=4"):
        run(cfg_factory([*TOY, *schedule, "trainer.max_steps=8"], out))
    # pinned to the first run's horizon, the extension is the straight run with that horizon
    run(cfg_factory([*TOY, *schedule, "trainer.max_steps=8", f"{key}=4"], out))
    straight = tmp_path / "straight"
    run(cfg_factory([*TOY, *schedule, "trainer.max_steps=8", f"{key}=4"], straight))
    a, b = weights(out), weights(straight)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_a_finished_run_asked_for_another_evaluation_is_evaluated_again(cfg_factory, tmp_path):
    out = tmp_path / "run"
    run(cfg_factory([*TOY, "trainer.max_steps=3"], out))
    ckpt = (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    first = results.read(out / "metrics.json")
    assert first["metrics"]["protocol"]["num_fake"] == 200
    again = run(cfg_factory([*TOY, "trainer.max_steps=3", "metrics.num_samples=400"], out))
    second = results.read(out / "metrics.json")
    assert second["metrics"]["protocol"]["num_fake"] == 400 and second["metrics"]["final"]["w1"] == again
    assert second["metrics"]["final"] != first["metrics"]["final"] and second["step"] == 3
    assert (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns == ckpt  # evaluated, not trained


def test_a_run_cannot_be_shortened(cfg_factory, tmp_path):
    out = tmp_path / "run"
    run(cfg_factory([*TOY, "trainer.max_steps=6"], out))
    with pytest.raises(UserError, match="holds a run of 6 iterations; trainer.max_steps=3 cannot shorten it"):
        run(cfg_factory([*TOY, "trainer.max_steps=3"], out))


@pytest.mark.heavy
def test_a_sweep_run_again_in_its_folder_runs_only_what_is_missing(tmp_path):
    sweep = tmp_path / "sweep"
    args = [sys.executable, "-m", "gan_runner", "-m", f"hydra.sweep.dir={sweep}", *TOY, "trainer.max_steps=3"]
    env = {**__import__("os").environ, "GAN_RUNNER_CACHE": str(tmp_path / "cache")}
    first = subprocess.run([*args, "loss=ns"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    [ns_job] = [d for d in sweep.iterdir() if d.is_dir()]
    assert "loss=ns" in ns_job.name.split(",")  # the folder is named by the job's configuration
    before = stamps(ns_job)
    again = subprocess.run([*args, "loss=ns,hinge"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert stamps(ns_job) == before  # the completed job returned its result without training or writing
    [hinge_job] = [d for d in sweep.iterdir() if d.is_dir() and d != ns_job]
    assert results.read(hinge_job / "metrics.json")["status"] == "completed"
    command = resume_command(sweep)
    assert command.startswith("gan-runner -m ") and "loss=ns,hinge" in command and f"hydra.sweep.dir={sweep}" in command


def test_a_key_added_later_at_its_neutral_value_leaves_the_hash_of_older_folders(cfg_factory):
    """model.pack, data.sampler, optimizer.g_steps, model.z_prior, variant.feature_matching and minibatch
    discrimination's keys came after runs were recorded: at their neutral values (identity.NEUTRAL) a configuration
    hashes as it did without them, at any other value it is another configuration."""
    from omegaconf import open_dict

    from gan_runner.identity import hashes

    cfg = cfg_factory(TOY)
    older = cfg.copy()
    with open_dict(older):
        del older.model["pack"], older.data["sampler"], older.optimizer["g_steps"], older.model["z_prior"]
        del older.variant["feature_matching"], older.model["minibatch_discrimination"]
        del older.model["minibatch_kernels"], older.model["minibatch_dims"], older.model["self_mod"]
        del older.model["virtual_batch_norm"], older.model["vbn_reference"]
    assert hashes(cfg)["training"] == hashes(older)["training"]
    for changed in (["model.pack=2"], ["data.sampler=replacement"], ["optimizer.g_steps=2"], ["model.z_prior=uniform"],
                    ["variant.feature_matching=true"], ["model.minibatch_discrimination=true"],
                    ["model.self_mod=true", "model.g_norm=batch"],
                    ["model.virtual_batch_norm=true", "model.g_norm=batch"]):
        assert hashes(cfg_factory([*TOY, *changed]))["training"] != hashes(cfg)["training"]
    acgan = cfg_factory(["data=digits", "model.width=8", "variant=acgan"])  # AC-GAN's G conditioning came later too
    older = acgan.copy()
    with open_dict(older):
        del older.variant["g_labels"]
    assert hashes(acgan)["training"] == hashes(older)["training"]
    assert hashes(cfg_factory(["data=digits", "model.width=8", "variant=acgan", "variant.g_labels=batchnorm"]))[
        "training"] != hashes(acgan)["training"]
