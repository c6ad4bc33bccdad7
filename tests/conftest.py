"""Shared test helpers: compose configs through Hydra's compose API, shrink the trainer, never touch the network."""
import copy
import os
from pathlib import Path

import hydra.utils
import lightning.pytorch as L
import pytest
from hydra import compose, initialize_config_dir

from gan_runner.build import build_module
from gan_runner.data.stream import BatchStream

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


def _train_steps(cfg, steps=2, keep_initial=False, batch_size=16, **trainer_kwargs):
    """A module after `steps` real iterations, and a copy of its generator's weights from before them; with
    `keep_initial`, also copies of the initial G and D and the batch stream."""
    L.seed_everything(0)
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data)
    before = [p.detach().clone() for p in module.generator.parameters()]
    initial = (copy.deepcopy(module.generator), copy.deepcopy(module.discriminator))
    stream = BatchStream(module.training_data(data), batch_size, module.n_critic, steps, seed=0)
    L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu", **trainer_kwargs).fit(module, stream)
    if keep_initial:
        return module, before, (*initial, stream)
    return module, before


@pytest.fixture
def train_steps():
    """train_steps(cfg, steps) -> (module after `steps` real iterations, G's weights from before them)."""
    return _train_steps
