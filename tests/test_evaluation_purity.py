"""Evaluating never changes training: for every constraint, the weights after training are the same whether the run
was evaluated (metrics and pictures) along the way or not."""
from pathlib import Path

import pytest
import torch

from gan_runner.run import run

CONSTRAINTS = sorted(p.stem for p in (Path(__file__).parents[1] / "gan_runner" / "conf" / "constraint").glob("*.yaml"))
TOY = ["data=ring", "model=mlp", "model.width=16", "trainer.max_steps=10", "trainer.enable_progress_bar=false",
       "metrics.num_samples=200", "checkpoint_every_n_steps=10"]
# BatchNorm in G (DCGAN) and the LeNet image metrics: the generator's running statistics must stand still too.
IMAGES = ["data=digits", "model.width=8", "trainer.max_steps=6", "trainer.enable_progress_bar=false",
          "metrics.num_samples=100", "metrics.kid_subset_size=50", "optimizer.ema_decay=0"]


def final_state(cfg_factory, out, overrides):
    run(cfg_factory(overrides, out))
    return torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def assert_untouched(cfg_factory, tmp_path, overrides, every):
    quiet = final_state(cfg_factory, tmp_path / "quiet", [*overrides, "metrics.every_n_steps=0"])
    watched = final_state(cfg_factory, tmp_path / "watched", [*overrides, f"metrics.every_n_steps={every}"])
    assert list((tmp_path / "watched" / "samples").glob("step_*.png")), "the watched run was not evaluated"
    assert quiet.keys() == watched.keys()
    for key in quiet:
        assert torch.equal(quiet[key], watched[key]), key


@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_evaluating_a_toy_run_changes_no_weight(cfg_factory, tmp_path, constraint):
    assert_untouched(cfg_factory, tmp_path, [*TOY, f"constraint={constraint}"], every=3)


def test_evaluating_an_image_run_changes_no_weight_or_statistic(cfg_factory, seeded_cache, tmp_path):
    assert_untouched(cfg_factory, tmp_path, [*IMAGES, "constraint=sn"], every=2)
