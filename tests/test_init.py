"""model.init=normal: the DCGAN paper's N(0, 0.02) weights in G, in D and in every head a variant adds; label
embeddings keep their own initialization; model.init=torch leaves PyTorch's defaults."""
import hydra.utils
import pytest
import torch
from torch import nn

from gan_runner.build import build_module


def build(cfg_factory, overrides):
    cfg = cfg_factory(["data=digits", "model.width=8", *overrides])
    torch.manual_seed(0)
    return build_module(cfg, hydra.utils.instantiate(cfg.data.source))


@pytest.mark.parametrize("variant", ["variant=infogan", "variant=projection"])
def test_normal_draws_every_layer_from_n_0_002_and_leaves_label_embeddings_alone(cfg_factory, variant):
    nets = [variant, "model.d_norm=batch", "model.d_fc=64"]
    module, default = build(cfg_factory, [*nets, "model.init=normal"]), build(cfg_factory, nets)
    layers = [m for net in (module.generator, module.discriminator) for m in net.modules()]
    weighted = [m for m in layers if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    assert len(weighted) >= 5 and all(m.bias is None or not m.bias.any() for m in weighted)
    weights = torch.cat([m.weight.flatten() for m in weighted])
    assert abs(weights.mean()) < 1e-3 and abs(weights.std() - 0.02) < 5e-4
    scales = torch.cat([m.weight for m in layers if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine])
    assert abs(scales.mean() - 1) < 5e-3 and 0.015 < scales.std() < 0.025
    embeddings = [(m, d) for m, d in zip(module.modules(), default.modules()) if isinstance(m, nn.Embedding)]
    assert bool(embeddings) == (variant == "variant=projection")  # D's, and conditional BatchNorm's gains and biases
    assert all(torch.equal(m.weight, d.weight) for m, d in embeddings)
    assert all(torch.equal(e, g) for e, g in zip(module.ema.parameters(), module.generator.parameters()))


def test_torch_keeps_each_layers_default(cfg_factory):
    default = build(cfg_factory, [])
    first_conv = next(m for m in default.discriminator.modules() if isinstance(m, nn.Conv2d))
    fan_in = first_conv.weight[0].numel()
    # Kaiming-uniform with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std 1/sqrt(3 fan_in)
    assert abs(first_conv.weight.std() - (3 * fan_in) ** -0.5) < 0.1 * (3 * fan_in) ** -0.5
    assert first_conv.bias.abs().max() > 0
