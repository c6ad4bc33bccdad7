"""model.virtual_batch_norm=true (Salimans et al. 2016, 3.4): G's BatchNorms normalize each example with a fixed
reference batch's statistics joined with its own, weighted N/(N+1) and 1/(N+1)."""
import pytest
import torch
from torch import nn

from gan_runner.ensemble.support import unsupported
from gan_runner.errors import UserError
from gan_runner.nets.virtual_batch import VirtualBatchNorm, VirtualBatchNormed
from gan_runner.validate import validate


def _normed(net: nn.Module, reference: torch.Tensor) -> VirtualBatchNormed:
    return VirtualBatchNormed(net, (reference,)).double()


def test_an_example_is_normalized_with_the_reference_weighted_n_over_n_plus_1_and_itself_1_over_n_plus_1():
    torch.manual_seed(0)
    norm = nn.BatchNorm1d(2)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([2.0, 0.5]))
        norm.bias.copy_(torch.tensor([0.1, -0.3]))
    reference = torch.tensor([[1.0, 0.0], [2.0, 4.0], [6.0, -1.0]], dtype=torch.float64)
    x = torch.tensor([[3.0, 2.0], [-1.0, 5.0]], dtype=torch.float64)
    out = _normed(nn.Sequential(norm), reference)(x)
    n = 3
    for i in range(2):
        for c in range(2):
            mean = (x[i, c] + n * reference[:, c].mean()) / (n + 1)
            mean_sq = (x[i, c] ** 2 + n * (reference[:, c] ** 2).mean()) / (n + 1)
            expected = (x[i, c] - mean) / torch.sqrt(mean_sq - mean**2 + 1e-5) * norm.weight[c] + norm.bias[c]
            assert out[i, c].item() == pytest.approx(expected.item(), rel=1e-12)


def test_a_feature_map_joins_its_own_spatial_statistics_and_the_reference_is_plain_batchnorm():
    torch.manual_seed(1)
    norm, reference, x = nn.BatchNorm2d(3), torch.randn(4, 3, 2, 2), torch.randn(2, 3, 2, 2)
    layer = VirtualBatchNorm(norm)
    layer.collecting = True
    assert torch.allclose(layer(reference), norm.train()(reference), atol=1e-6)  # the reference pass: BatchNorm
    layer.collecting = False
    dims = (0, 2, 3)
    mean = (x.mean((2, 3), keepdim=True) + 4 * reference.mean(dims, keepdim=True)) / 5
    mean_sq = ((x**2).mean((2, 3), keepdim=True) + 4 * (reference**2).mean(dims, keepdim=True)) / 5
    assert torch.allclose(layer(x), (x - mean) / torch.sqrt(mean_sq - mean**2 + 1e-5), atol=1e-6)


def test_an_example_moves_with_the_reference_and_itself_never_with_the_rest_of_its_batch():
    torch.manual_seed(2)
    net = _normed(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)), torch.randn(8, 3))
    z = torch.randn(5, 3, dtype=torch.float64)
    out = net(z)
    other = z.clone()
    other[1:] += 1.0
    assert torch.equal(net(other)[0], out[0])  # the rest of the batch changed: sample 0 did not
    assert torch.equal(net(z[:1])[0], out[0])  # a batch of one is the same sample
    assert torch.equal(net.eval()(z), out)  # no running statistics: evaluation normalizes as training does
    net.reference_0.add_(1.0)
    assert not torch.allclose(net(z), out)  # ... but the reference batch moves every sample
    with pytest.raises(RuntimeError, match="without its reference batch"):
        net.net(z)  # a virtual batch norm outside its wrapper has no reference statistics


def test_the_reference_statistics_carry_g_gradients_as_in_the_authors_code():
    torch.manual_seed(3)
    net = _normed(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)), torch.randn(6, 2))
    z = torch.randn(1, 2, dtype=torch.float64)
    net(z).sum().backward()
    with_reference = net.net[0].weight.grad.clone()
    # the same output with the reference statistics held constant: its gradient differs
    net.zero_grad()
    layer = net.net[1]
    layer.collecting = True
    net.net(net.reference_0)
    layer.collecting = False
    mean, mean_sq, n = layer.reference
    layer.reference = (mean.detach(), mean_sq.detach(), n)
    net.net(z).sum().backward()
    assert not torch.allclose(net.net[0].weight.grad, with_reference)


@pytest.mark.parametrize("model", [["model=dcgan", "data=digits", "model.width=8", "constraint=gp"],
                                   ["model=mlp", "data=ring", "model.width=8", "model.g_norm=batch", "constraint=sn"],
                                   ["variant=cgan", "model=dcgan", "data=digits", "model.width=8"],
                                   *(["model=dcgan", "data=digits", "model.width=8", f"constraint={c}"]
                                     for c in ("clip", "noise", "gn"))], ids=str)
def test_a_virtual_batch_normed_g_trains_and_keeps_its_reference(cfg_factory, train_steps, model):
    cfg = cfg_factory([*model, "model.virtual_batch_norm=true", "model.vbn_reference=12", "model.init=normal"])
    validate(cfg)
    module, before = train_steps(cfg)
    g = module.generator
    assert isinstance(g, VirtualBatchNormed) and not any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                                                         for m in g.modules())
    assert g.reference_0.shape == (12, cfg.model.z_dim) and "reference_0" in dict(g.named_buffers())
    if "variant=cgan" in model:  # a conditional G's reference batch has its labels, balanced
        assert g.reference_1.tolist() == [i % 10 for i in range(12)]
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))
    opt_g, _ = module.optimizers()
    trained = {id(p) for group in opt_g.optimizer.param_groups for p in group["params"]}
    assert all(id(p) in trained for m in g.modules() if isinstance(m, VirtualBatchNorm) for p in m.parameters())


@pytest.mark.parametrize("overrides, message", [
    (["model=mlp", "data=ring"], "model.virtual_batch_norm=true replaces G's BatchNorm layers, and model.g_norm=none"),
    (["variant=projection"], "model.virtual_batch_norm=true and variant=projection both replace"),
    (["model.self_mod=true"], "model.self_mod=true and model.virtual_batch_norm=true both replace"),
    (["model.vbn_reference=0"], "model.vbn_reference=0 is not a batch size"),
])
def test_what_it_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory([*overrides, "model.virtual_batch_norm=true"]))
    assert "virtual_batch_norm" in unsupported(cfg_factory(["model=dcgan", "data=digits",
                                                            "model.virtual_batch_norm=true"]))


def test_under_bf16_autocast_the_statistics_stay_float32():
    """mean_sq - mean² cancels in bf16 when a channel's mean is large against its spread (BatchNorm keeps float32)."""
    torch.manual_seed(4)
    linear = nn.Linear(3, 4)
    with torch.no_grad():
        linear.bias.fill_(20.0)
    net = VirtualBatchNormed(nn.Sequential(linear, nn.BatchNorm1d(4)), (torch.randn(16, 3),))
    z = torch.randn(8, 3)
    exact = net(z)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = net(z)
    # the bf16 input itself is off by ~0.1 here (20 in 8 bits); bf16 statistics would be off by hundreds
    assert (low.float() - exact).abs().max() < 1.0


def test_the_issues_spelling_g_norm_virtual_batch_points_to_the_switch(cfg_factory):
    with pytest.raises(UserError, match="model.virtual_batch_norm=true"):
        validate(cfg_factory(["model=mlp", "data=ring", "model.g_norm=virtual_batch"]))
