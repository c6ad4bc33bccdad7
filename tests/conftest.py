"""Shared test helpers: compose configs through Hydra's compose API, shrink the trainer, never touch the network."""
import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

CONFIG_DIR = str(Path(__file__).parents[1] / "gan_runner" / "conf")
TINY = ["trainer.max_steps=4", "trainer.enable_progress_bar=false", "metrics.every_n_steps=0"]


def make_cfg(overrides, output_dir):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=[*overrides, f"output_dir={output_dir}"])


@pytest.fixture
def cfg_factory(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_RUNNER_CACHE", str(tmp_path / "cache"))
    return lambda overrides, out=tmp_path / "run": make_cfg(overrides, out)
