"""model.leak: the negative slope of every LeakyReLU of D, its trunk and the hidden layer of a head a variant adds
(InfoGAN's Q); DCGAN's 0.2 by default, InfoGAN's official code uses 0.01."""
import hydra.utils
import pytest
import torch
from torch import nn

from gan_runner.build import build_module


def slopes(cfg_factory, overrides):
    cfg = cfg_factory(["data=digits", "model.width=8", "variant=infogan", *overrides])
    module = build_module(cfg, hydra.utils.instantiate(cfg.data.source))
    return [m.negative_slope for m in module.discriminator.modules() if isinstance(m, nn.LeakyReLU)]


@pytest.mark.parametrize("model", [["model.d_fc=16"], ["model=mlp", "model.depth=2"]])
def test_every_leaky_relu_of_d_and_of_q_takes_the_slope(cfg_factory, model):
    default, official = slopes(cfg_factory, model), slopes(cfg_factory, [*model, "model.leak=0.01"])
    assert len(default) >= 2 and set(default) == {0.2}  # trunk layers (the MLP shares one module) and Q
    assert len(official) == len(default) and set(official) == {0.01}


def test_the_slope_reaches_the_output():
    from gan_runner.nets.dcgan import DCGANDiscriminator
    x = -torch.ones(2, 1, 8, 8)
    d = DCGANDiscriminator([1, 8, 8], width=4, leak=0.0)
    with torch.no_grad():
        d.trunk[0].weight.fill_(1.0), d.trunk[0].bias.zero_()
    assert not d.features(x).any()  # slope 0: every negative activation is cut
    d_leaky = DCGANDiscriminator([1, 8, 8], width=4, leak=0.5)
    d_leaky.load_state_dict(d.state_dict())
    assert d_leaky.features(x).lt(0).all()
