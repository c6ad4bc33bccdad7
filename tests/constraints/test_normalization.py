"""Spectral normalization, clipping, and how constraints combine."""
import torch
from torch import nn

from gan_runner.constraints import R1, Constraints, GradientPenalty, SpectralNorm, WeightClip
from gan_runner.nets.dcgan import DCGANDiscriminator


def test_spectral_norm_brings_top_singular_value_to_one():
    torch.manual_seed(0)
    layer = nn.Linear(64, 32)
    with torch.no_grad():
        layer.weight.mul_(5.0)
    assert torch.linalg.matrix_norm(layer.weight, ord=2) > 3
    d = SpectralNorm().wrap(nn.Sequential(layer))
    for _ in range(50):  # one power iteration per forward, as in training
        d(torch.randn(8, 64))
    sigma = torch.linalg.matrix_norm(d[0].weight.detach(), ord=2).item()
    assert abs(sigma - 1.0) < 1e-3


def test_spectral_norm_wraps_every_conv_and_linear_once():
    d = DCGANDiscriminator(shape=[1, 28, 28], width=8)
    Constraints([SpectralNorm()]).wrap(d)
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 3
    for m in layers:
        assert len(m.parametrizations.weight) == 1


def test_clip_bounds_every_parameter():
    d = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in d.parameters():
            p.normal_(0, 1)
    inside = d[0].weight.detach().clone().clamp(-0.5, 0.5)
    WeightClip(c=0.5).after_d_step(d)
    for p in d.parameters():
        assert p.abs().max() <= 0.5
    torch.testing.assert_close(d[0].weight.detach(), inside)


def test_combined_constraints_each_apply_exactly_once():
    calls = []

    class Counting(GradientPenalty):
        def penalty(self, critic, real, fake):
            calls.append("gp")
            return super().penalty(critic, real, fake)

    both = Constraints([SpectralNorm(), Counting(), R1()])
    d = both.wrap(nn.Sequential(nn.Linear(3, 1)))
    terms = both.penalty(lambda x: d(x).squeeze(1), torch.randn(4, 3), torch.randn(4, 3))
    assert calls == ["gp"]
    assert sorted(terms) == ["Counting", "R1"]
    assert len(d[0].parametrizations.weight) == 1
    assert both.per_sample_gradients
