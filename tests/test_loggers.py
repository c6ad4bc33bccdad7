"""Each logger writes where the README says, offline, with the losses in it."""
import csv

import pytest

from gan_runner.run import run

TINY_RUN = ["data=ring", "model=mlp", "model.width=16", "trainer.max_steps=4", "trainer.log_every_n_steps=1",
            "metrics.every_n_steps=0", "metrics.num_samples=100", "trainer.enable_progress_bar=false"]


def test_csv_logger_records_the_losses(cfg_factory, tmp_path):
    run(cfg_factory([*TINY_RUN, "logger=csv"], tmp_path / "run"))
    with open(tmp_path / "run" / "logs" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"d_loss", "g_loss", "iteration"} <= set(rows[0])
    assert [float(r["iteration"]) for r in rows if r["iteration"]] == [1.0, 2.0, 3.0, 4.0]


def test_tensorboard_logger_writes_events(cfg_factory, tmp_path):
    run(cfg_factory([*TINY_RUN, "logger=tensorboard"], tmp_path / "run"))
    assert list((tmp_path / "run" / "logs").glob("events.out.tfevents.*"))


def test_wandb_logs_offline_without_an_account(cfg_factory, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)  # offline must come from the config, not the environment
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    run(cfg_factory([*TINY_RUN, "logger=wandb"], tmp_path / "run"))
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
