"""model.self_mod=true (Chen et al. 2019): G's BatchNorm scales and shifts as MLPs of z, checked against a plain
BatchNorm when the MLPs are silenced, per sample otherwise, and in real steps."""
import pytest
import torch
from torch import nn

from gan_runner.ensemble.support import unsupported
from gan_runner.errors import UserError
from gan_runner.nets.conditioning import _Labels
from gan_runner.nets.selfmod import SelfModulatedBatchNorm
from gan_runner.validate import validate


def test_a_silenced_modulation_is_batchnorm_without_affine_and_z_moves_each_sample_alone():
    latent = _Labels()
    layer = SelfModulatedBatchNorm(nn.BatchNorm1d(4), z_dim=3, latent=latent)
    x, z = torch.randn(6, 4), torch.randn(6, 3)
    latent.y = z
    for mlp in (layer.gamma, layer.beta):
        nn.init.zeros_(mlp[2].weight), nn.init.zeros_(mlp[2].bias)
    plain = nn.BatchNorm1d(4, affine=False)
    assert torch.allclose(layer(x), plain(x), atol=1e-6)  # γ(z) = 1, β(z) = 0: the paper's start (γ's bias at 1)
    with torch.no_grad():
        layer.beta[2].bias.fill_(0.5)
        layer.gamma[2].weight.normal_()
    out = layer(x)
    z2 = z.clone()
    z2[0] += 1.0
    latent.y = z2
    changed = layer(x) != out
    assert changed[0].all() and not changed[1:].any()  # sample 0's z moves sample 0's modulation only


@pytest.mark.parametrize("model", [
    ["model=dcgan", "data=digits", "model.width=8"], ["model=mlp", "data=ring", "model.width=8", "model.g_norm=batch"],
    ["model=resnet", "data=mnist5k", "model.g_width=8", "model.d_width=8", "constraint=sn"],
    *(["model=dcgan", "data=digits", "model.width=8", f"constraint={c}"] for c in ("gp", "sn", "clip", "noise", "gn"))],
    ids=str)
def test_self_modulated_g_trains(cfg_factory, train_steps, model):
    cfg = cfg_factory([*model, "model.self_mod=true", "model.init=normal"])
    validate(cfg)
    module, before = train_steps(cfg)
    mods = [m for m in module.generator.modules() if isinstance(m, SelfModulatedBatchNorm)]
    assert mods and not any(type(m) is nn.BatchNorm2d and m.affine for m in module.generator.modules())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    opt_g, _ = module.optimizers()
    trained = {id(p) for group in opt_g.optimizer.param_groups for p in group["params"]}
    assert all(id(p) in trained for m in mods for p in m.parameters())  # G's optimizer trains the modulation


@pytest.mark.parametrize("overrides, message", [
    (["model=mlp", "data=ring"], "model.self_mod=true replaces G's BatchNorm layers, and model.g_norm=none"),
    (["variant=projection"], "model.self_mod=true and variant=projection both replace"),
])
def test_what_it_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory([*overrides, "model.self_mod=true"]))
    assert "self_mod" in unsupported(cfg_factory(["model=dcgan", "data=digits", "model.self_mod=true"]))
