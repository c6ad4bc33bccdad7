"""Every named preset composes with the paper's settings, passes validation and takes a training step."""
from pathlib import Path

import pytest

from gan_runner.validate import validate

PRESETS = sorted(p.stem for p in (Path(__file__).parents[1] / "gan_runner" / "conf" / "experiment").glob("*.yaml"))
REQUIRED = {"gan_2014", "dcgan", "lsgan", "wgan", "wgan_gp", "wgan_div", "sngan", "gngan", "grangan", "fgan_kl",
            "fgan_reverse_kl", "fgan_pearson", "fgan_hellinger", "fgan_js"}


def test_every_preset_of_the_seeds_exists():
    assert REQUIRED <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_trains(cfg_factory, train_steps, name):
    cfg = cfg_factory([f"experiment={name}"])
    validate(cfg)
    module, before = train_steps(cfg, steps=1)
    assert module.iteration == 1


def test_presets_carry_their_papers_hyperparameters(cfg_factory):
    wgan = cfg_factory(["experiment=wgan"])
    assert (wgan.optimizer.name, wgan.optimizer.lr_d, wgan.optimizer.n_critic) == ("rmsprop", 5e-5, 5)
    assert wgan.constraint.clip.c == 0.01 and wgan.loss._target_.endswith("Wasserstein")
    gp = cfg_factory(["experiment=wgan_gp"])
    assert tuple(gp.optimizer.kwargs.betas) == (0.0, 0.9) and gp.constraint.gp.weight == 10
    assert gp.model.d_norm == "layer"
    assert cfg_factory(["experiment=fgan_js"]).loss.divergence == "js"
