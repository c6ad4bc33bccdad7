"""What each logger shows, read back from the files it wrote, offline: the losses, the run's hyperparameters,
sample pictures at every evaluation, the final metrics and the run's status (README, `logger=`)."""
import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

from gan_runner import dashboard, evaluation, results
from gan_runner.evaluation import ToyEvaluation
from gan_runner.run import run

TINY_RUN = ["data=ring", "model=mlp", "model.width=16", "trainer.max_steps=4", "trainer.log_every_n_steps=1",
            "metrics.every_n_steps=0", "metrics.num_samples=100", "trainer.enable_progress_bar=false"]
EVALUATED = [*TINY_RUN, "metrics.every_n_steps=2"]  # evaluations at iteration 2 and, the final one, at 4
# 8 px digits, random feature nets: an image run in seconds
IMAGES = ["data=digits", "model=mlp", "model.width=16", "trainer.log_every_n_steps=1", "metrics.extractor=random",
          "metrics.num_samples=100", "metrics.kid_subset_size=50", "trainer.enable_progress_bar=false"]
BLOW_UP = [*TINY_RUN, "optimizer.lr_g=1e30", "trainer.max_steps=3"]  # diverges (tests/modules/test_divergence.py)
PLAIN = (str, int, float, bool)


# ----- the hyperparameters -----
@pytest.mark.parametrize("overrides, expected", [
    (["loss=hinge", "constraint=[sn,gp]", "optimizer.lr_d=4e-4", "model=mlp", "model.width=32", "seed=3"],
     {"loss": "hinge", "constraint": "[sn,gp]", "constraint.gp.weight": 10.0, "constraint.sn.power_iterations": 1,
      "optimizer": "adam_infogan", "optimizer.lr_d": 4e-4, "optimizer.kwargs.betas": "[0.5, 0.999]", "model": "mlp",
      "model.width": 32, "data": "mnist5k", "seed": 3, "trainer.max_steps": 3600}),
    (["loss=fgan", "loss.divergence=js", "constraint=gp", "optimizer=ttur"],
     {"loss": "fgan", "loss.divergence": "js", "constraint": "gp", "optimizer": "ttur", "optimizer.lr_d": 4e-4}),
    (["data=ring"], {"loss": "ns", "constraint": "none", "data": "ring", "model": "dcgan_fc"}),
])
def test_hyperparameters_are_flat_plain_and_readable(overrides, expected, tmp_path):
    params = dashboard.hyperparameters(_compose(overrides, tmp_path))
    assert expected.items() <= params.items()
    assert all(isinstance(v, PLAIN) for v in params.values()), params
    assert not [k for k in params if "_target_" in k or ".generator." in k or ".source." in k or k == "output_dir"]


def test_a_variant_and_a_preset_are_named(tmp_path, monkeypatch):
    """The preset of a command-line run comes from Hydra's choices; a group without `name` or option file (a
    variant here) from its target's class name."""
    with initialize_config_dir(_conf(), version_base="1.3"):
        cfg = compose("config", [f"output_dir={tmp_path}", "experiment=toy_ring"], return_hydra_config=True)
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # restored after the test
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.variant = {"_target_": "my_project.modules.MyGAN", "lambda_info": 1.0}  # a user's own, outside conf/
    params = dashboard.hyperparameters(cfg)
    assert params["experiment"] == "toy_ring" and params["data"] == "ring" and params["model.width"] == 256
    assert params["variant"] == "MyGAN" and params["variant.lambda_info"] == 1.0


# ----- CSV -----
def test_csv_logger_records_losses_hyperparameters_and_final_metrics(cfg_factory, tmp_path):
    out = tmp_path / "run"
    run(cfg_factory([*EVALUATED, "logger=csv", "constraint=[sn,gp]"], out))
    rows = list(csv.DictReader(open(out / "logs" / "metrics.csv")))
    assert {"d_loss", "g_loss", "iteration"} <= set(rows[0])
    losses = {float(r["iteration"]): int(r["step"]) for r in rows if r["iteration"]}
    assert list(losses) == [1.0, 2.0, 3.0, 4.0]
    final = [r for r in rows if r["final/w1"]]
    assert len(final) == 1 and int(final[0]["step"]) == losses[4.0]
    periodic = [r for r in rows if r["eval/w1"]]  # once, at its iteration's step: not repeated on later rows
    assert len(periodic) == 1 and int(periodic[0]["step"]) == losses[2.0]
    assert float(periodic[0]["eval/w1"]) == pytest.approx(_history(out)[0]["w1"])
    assert float(final[0]["final/w1"]) == pytest.approx(_final(out)["w1"])
    params = yaml.safe_load((out / "logs" / "hparams.yaml").read_text())  # plain YAML: no OmegaConf tags
    assert {"loss": "ns", "constraint": "[sn,gp]", "constraint.gp.weight": 0.1, "model.width": 16,
            "seed": 0}.items() <= params.items()


def test_each_image_evaluation_is_one_csv_row_at_its_iteration(cfg_factory, tmp_path, monkeypatch):
    """Two evaluations of an image run, a row of losses at every iteration: each eval/* value is in the row of its
    own evaluation's step and in no later one (Lightning's `log` would repeat it on every later row). The class
    metrics are left out: their LeNet takes a minute to train on a 2-core machine, and they are logged alike."""
    monkeypatch.setattr(evaluation, "class_metrics", lambda *args: None)
    out = tmp_path / "run"
    run(cfg_factory([*IMAGES, "trainer.max_steps=6", "metrics.every_n_steps=2", "logger=csv"], out))
    rows = list(csv.DictReader(open(out / "logs" / "metrics.csv")))
    step_of = {float(r["iteration"]): int(r["step"]) for r in rows if r["iteration"]}
    history = _history(out)
    assert [h["step"] for h in history] == [2, 4] and list(step_of) == [1, 2, 3, 4, 5, 6]
    columns = [k for k in rows[0] if k.startswith("eval/")]
    assert sorted(columns) == sorted(f"eval/{k}" for k in history[0] if k != "step")
    for column in columns:
        logged = [r for r in rows if r[column]]
        assert [int(r["step"]) for r in logged] == [step_of[h["step"]] for h in history], column
        assert [float(r[column]) for r in logged] == pytest.approx([h[column[5:]] for h in history]), column


# ----- TensorBoard -----
def test_tensorboard_shows_hyperparameters_pictures_final_metrics_and_status(cfg_factory, tmp_path):
    out = tmp_path / "run"
    run(cfg_factory([*EVALUATED, "logger=tensorboard", "loss=hinge"], out))
    events = _events(out / "logs")
    step_of = {e.value: e.step for e in events.Scalars("iteration")}  # Lightning's step of each iteration
    params, status = _session(events)
    assert {"loss": "hinge", "constraint": "none", "model.width": 16, "seed": 0, "status": "completed"}.items() \
        <= params.items()
    assert status == api_pb2.STATUS_SUCCESS
    images = events.Images("samples")
    assert [e.step for e in images] == [step_of[2], step_of[4]]
    # the very pictures of the PNG files: drawn once
    assert np.array_equal(_pixels(images[0].encoded_image_string), _pixels(out / "samples" / "step_000002.png"))
    assert np.array_equal(_pixels(images[-1].encoded_image_string), _pixels(out / "samples" / "final.png"))
    [periodic] = events.Scalars("eval/w1")
    assert periodic.step == step_of[2] and periodic.value == pytest.approx(_history(out)[0]["w1"])
    final = _final(out)
    for name in ("w1", "modes", "critic_w1"):
        [scalar] = events.Scalars(f"final/{name}")
        assert scalar.step == step_of[4] and scalar.value == pytest.approx(final[name])
    assert "loss" in yaml.safe_load((out / "logs" / "hparams.yaml").read_text())


# ----- wandb -----
def test_wandb_shows_config_pictures_final_metrics_status_tags_and_notes(cfg_factory, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)  # offline must come from the config, not the environment
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    out = tmp_path / "run"
    run(cfg_factory([*EVALUATED, "logger=wandb", "optimizer.lr_d=4e-4", "logger.tags=[baseline,ring]",
                     "logger.notes=first try"], out))
    wandb_run = _wandb_run(out)
    assert {"loss": "ns", "optimizer.lr_d": 4e-4, "model.width": 16, "seed": 0}.items() <= wandb_run["config"].items()
    assert wandb_run["tags"] == ["baseline", "ring", "completed"] and wandb_run["notes"] == "first try"
    summary = wandb_run["summary"]
    assert summary["status"] == "completed" and summary["final/w1"] == pytest.approx(_final(out)["w1"])
    assert wandb_run["exit_code"] == 0
    step_of = {row["iteration"]: row["trainer/global_step"] for row in wandb_run["history"] if "iteration" in row}
    [periodic] = [row for row in wandb_run["history"] if "eval/w1" in row]  # once, at its iteration's step
    assert periodic["trainer/global_step"] == step_of[2]
    assert periodic["eval/w1"] == pytest.approx(_history(out)[0]["w1"])
    pictures = sorted(wandb_run["files"].glob("media/images/samples_*.png"), key=lambda p: int(p.name.split("_")[1]))
    assert len(pictures) == 2
    assert np.array_equal(_pixels(pictures[0]), _pixels(out / "samples" / "step_000002.png"))
    assert np.array_equal(_pixels(pictures[-1]), _pixels(out / "samples" / "final.png"))


# ----- a run that does not complete -----
@pytest.mark.parametrize("logger", ["tensorboard", "wandb"])
@pytest.mark.parametrize("status", ["diverged", "failed"])
def test_a_run_that_does_not_complete_says_so(status, logger, cfg_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    out = tmp_path / "run"
    cfg = cfg_factory([*(BLOW_UP if status == "diverged" else TINY_RUN), f"logger={logger}"], out)
    if status == "failed":
        def broken(*args, **kwargs):
            raise RuntimeError("the final evaluation broke")

        monkeypatch.setattr(ToyEvaluation, "__call__", broken)
        with pytest.raises(RuntimeError, match="broke"):
            run(cfg)
    else:
        run(cfg)
        assert results.read(out / "metrics.json")["status"] == "diverged"
    if logger == "tensorboard":
        params, session_status = _session(_events(out / "logs"))
        assert params["status"] == status and session_status == api_pb2.STATUS_FAILURE
    else:
        wandb_run = _wandb_run(out)
        assert wandb_run["summary"]["status"] == status and wandb_run["tags"] == [status]
        assert wandb_run["exit_code"] == (1 if status == "failed" else 0)
        assert not [k for k in wandb_run["summary"] if k.startswith("final/")]


# ----- cost -----
def test_the_logger_is_written_only_at_evaluations_and_at_the_ends(cfg_factory, tmp_path, monkeypatch):
    calls = []

    class Spy(dashboard._Writer):
        def __getattribute__(self, name):
            if name in ("start", "image", "end", "close"):
                calls.append(name)
            return super().__getattribute__(name)

    monkeypatch.setattr(dashboard, "_writer", Spy)
    run(cfg_factory([*TINY_RUN, "trainer.max_steps=9", "metrics.every_n_steps=3", "logger=csv"], tmp_path / "run"))
    assert calls == ["start", "image", "image", "image", "end", "close"]  # iterations 3, 6 and the final 9


# ----- helpers: read back what the loggers wrote -----
def _conf() -> str:
    return str(Path(dashboard.__file__).parent / "conf")


def _compose(overrides, out):
    with initialize_config_dir(_conf(), version_base="1.3"):
        return compose("config", [*overrides, f"output_dir={out}"])


def _final(out: Path) -> dict:
    return results.read(out / "metrics.json")["metrics"]["final"]


def _history(out: Path) -> list[dict]:
    return results.read(out / "metrics.json")["history"]


def _pixels(png) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png) if isinstance(png, bytes) else png).convert("RGB"))


def _events(logdir: Path) -> EventAccumulator:
    events = EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


def _session(events: EventAccumulator) -> tuple[dict, int]:
    """The run's TensorBoard HParams session: its hyperparameters and its end status."""
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"])
    params = {k: v.string_value if v.HasField("string_value") else v.number_value
              for k, v in start.session_start_info.hparams.items()}
    return params, end.session_end_info.status


def _wandb_run(out: Path, timeout: float = 30) -> dict:
    """What an offline wandb run holds for `wandb sync`: wandb 0.31 writes no files/config.yaml or
    files/wandb-summary.json offline (wandb issue 9646), only its transaction log (`run-<id>.wandb`) and the media
    files. Its service process may still be writing the log when wandb.finish() returns: read it once it ends."""
    [run_dir] = (out / "wandb").glob("offline-run-*")
    log_file = run_dir / f"run-{run_dir.name.rsplit('-', 1)[1]}.wandb"
    deadline = time.monotonic() + timeout
    while (found := _wandb_records(log_file))["exit_code"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return {**found, "files": run_dir / "files"}


def _wandb_records(log_file: Path) -> dict:
    """The log read by wandb's own reader, `wandb leet inspect --json` (wandb-core, offline: one JSON record a
    line, nested keys joined with dots). wandb 0.31 ships no reader in Python: wandb/sdk/internal/datastore.py,
    which parsed this LevelDB-style log, is gone."""
    command = [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(log_file)]
    lines = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ,
                           "WANDB_MODE": "offline"}).stdout.splitlines()  # offline: no error reporting either
    found = {"config": {}, "summary": {}, "history": [], "tags": [], "notes": "", "exit_code": None}
    for record in map(json.loads, lines):
        kind, body = record["type"], record.get(record["type"], {})
        if kind == "run":
            found.update(tags=body.get("tags", []), notes=body.get("notes", ""))
            found["config"].update(body.get("config", {}).get("update", {}))
        elif kind == "config":
            found["config"].update(body.get("update", {}))
        elif kind == "summary":
            found["summary"].update(body.get("update", {}))
        elif kind == "history":
            found["history"].append(body.get("item", {}))
            found["summary"].update(body.get("item", {}))
        elif kind == "exit":
            found["exit_code"] = body.get("exit_code", 0)
    return found
