"""K plain nets stacked into one: member k computes what plain net k computes, forward and backward, and its
BatchNorm keeps its own statistics."""
import pytest
import torch

from gan_runner.ensemble.nets import StackedDiscriminator, StackedGenerator
from gan_runner.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_runner.nets.mlp import MLPDiscriminator, MLPGenerator

K, N = 3, 5
NETS = {
    "mlp": (lambda: MLPGenerator(4, [2], width=16, depth=2, norm="batch"),
            lambda norm: MLPDiscriminator([2], width=16, depth=2, norm=norm)),
    "dcgan": (lambda: DCGANGenerator(8, [1, 28, 28], width=4),
              lambda norm: DCGANDiscriminator([1, 28, 28], width=4, norm=norm)),
    "dcgan with FC layers": (lambda: DCGANGenerator(8, [1, 28, 28], width=4, fc=16),
                             lambda norm: DCGANDiscriminator([1, 28, 28], width=4, norm=norm, fc=16)),
}


def members(make):
    nets = []
    for k in range(K):
        torch.manual_seed(k)
        nets.append(make())
    return nets


def close(a, b):
    # float32 sums in another order (grouped and batched kernels): ~1e-7 relative; a bias just before BatchNorm has
    # a gradient that is zero in exact arithmetic and rounding noise of ~1e-6 here
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
@pytest.mark.parametrize("net", NETS)
def test_each_member_computes_what_its_plain_net_computes(net, norm):
    make_g, make_d = NETS[net]
    gs, ds = members(make_g), members(lambda: make_d(norm))
    g, d = StackedGenerator(gs), StackedDiscriminator(ds)
    z = torch.randn(K, N, gs[0].z_dim)
    x = g(z)
    scores = d(x)
    plain = torch.stack([dk(gk(zk)) for gk, dk, zk in zip(gs, ds, z)])
    close(scores, plain)
    # each member's own loss: a gradient that leaked between members would differ from its plain net's
    weights = torch.arange(1.0, K + 1)
    (scores.square().mean(1) * weights).sum().backward()
    for k in range(K):
        (plain[k].square().mean() * weights[k]).backward(retain_graph=True)
    for stacked, plains in ((g, gs), (d, ds)):
        # stacked [K, ...] or joined [K*C, ...] along the first axis: member k's block either way
        for p, parts in zip(stacked.parameters(), zip(*(m.parameters() for m in plains)), strict=True):
            close(p.grad.reshape(K, *parts[0].shape), torch.stack([q.grad for q in parts]))
    for stacked, plains in ((g, gs), (d, ds)):
        running = [[b for name, b in m.named_buffers() if "running" in name] for m in [stacked, *plains]]
        for b, *parts in zip(*running, strict=True):
            close(b.reshape(K, -1), torch.stack(parts).reshape(K, -1))
