"""model.d_noise: N(0, sigma^2) on each of D's hidden activations while D trains, none in eval mode; at 0 (the
default) D's layers are the ones it always had."""
import hydra.utils
import pytest
import torch
from torch import nn

from gan_runner.build import build_module
from gan_runner.nets.critic import HiddenNoise
from gan_runner.nets.dcgan import DCGANDiscriminator


def noise_layers(cfg_factory, overrides):
    cfg = cfg_factory(["data=digits", "model.width=8", *overrides])
    module = build_module(cfg, hydra.utils.instantiate(cfg.data.source))
    return [m.sigma for m in module.discriminator.modules() if isinstance(m, HiddenNoise)], module


@pytest.mark.parametrize("model, hidden", [(["model.d_fc=16"], 1 + 1), (["model=mlp", "model.depth=2"], 2)])
def test_one_noise_layer_after_each_hidden_activation(cfg_factory, model, hidden):
    assert noise_layers(cfg_factory, model)[0] == []  # the default: D as it was
    sigmas, module = noise_layers(cfg_factory, [*model, "model.d_noise=0.5"])
    assert sigmas == [0.5] * hidden  # 8 px digits: one conv stage and the FC layer, or the MLP's two layers
    trunk = list(module.discriminator.modules())
    assert all(isinstance(trunk[trunk.index(m) + 1], HiddenNoise) for m in trunk if isinstance(m, nn.LeakyReLU))


def test_the_noise_has_the_configured_spread_in_training_only():
    torch.manual_seed(0)
    x = torch.randn(4000, 5)
    layer = HiddenNoise(0.3)
    added = layer(x) - x
    assert added.std().item() == pytest.approx(0.3, rel=0.03) and added.mean().abs().item() < 0.01
    assert torch.equal(layer.eval()(x), x)


def test_a_noisy_d_scores_one_batch_differently_each_pass_but_not_in_eval_mode():
    torch.manual_seed(0)
    d, x = DCGANDiscriminator([1, 8, 8], width=4, noise=0.3), torch.randn(6, 1, 8, 8)
    assert not torch.equal(d(x), d(x))
    d.eval()
    quiet = DCGANDiscriminator([1, 8, 8], width=4)
    quiet.load_state_dict(d.state_dict())  # the noise layers hold no weights: checkpoints load either way
    assert torch.equal(d(x), d(x)) and torch.allclose(d(x), quiet.eval()(x))

