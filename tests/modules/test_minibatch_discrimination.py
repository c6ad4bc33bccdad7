"""Minibatch discrimination (model.minibatch_discrimination=true, Salimans 2016 §3.2): the layer on a hand-computed
batch, that D's head reads it, and what it refuses."""
import math

import pytest
import torch

from gan_runner.ensemble.support import unsupported
from gan_runner.errors import UserError
from gan_runner.nets.minibatch import MinibatchDiscrimination
from gan_runner.validate import validate

ON = ["model.minibatch_discrimination=true", "model.minibatch_kernels=3", "model.minibatch_dims=2"]


def test_each_kernel_sums_the_closeness_to_the_other_samples_alone():
    layer = MinibatchDiscrimination(2, kernels=2, dims=1)
    with torch.no_grad():
        layer.T.copy_(torch.eye(2))  # kernel b reads feature b
    f = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    out = layer(f)
    assert torch.equal(out[:, :2], f)  # the features pass through beside the kernels
    e = math.exp
    # kernel 0 reads (0, 1, 0), kernel 1 (0, 0, 2); sample i against the two others, never itself
    expected = [[e(-1) + e(0), e(0) + e(-2)],
                [e(-1) + e(-1), e(0) + e(-2)],
                [e(0) + e(-1), e(-2) + e(-2)]]
    assert torch.allclose(out[:, 2:], torch.tensor(expected) - 1.0)  # the bias starts at -1
    assert torch.allclose(layer(f[:1])[:, 2:], torch.tensor([[-1.0, -1.0]]))  # alone: no other sample


@pytest.mark.parametrize("constraint", ["clip", "noise", "gn"])
def test_it_trains_with_the_constraint_families_it_takes(cfg_factory, train_steps, constraint):
    """Gradient penalties are refused (per-sample gradients, below); the weight, noise and wrapper families train."""
    module, before = train_steps(cfg_factory(["data=digits", "model.width=8", *ON, f"constraint={constraint}"]))
    assert module.iteration == 2 and all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))


def test_d_scores_through_it_and_a_sample_score_depends_on_the_others(cfg_factory, train_steps):
    module, before = train_steps(cfg_factory(["data=digits", "model.width=8", *ON, "constraint=sn"]))
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    x = torch.randn(4, 1, 8, 8)
    module.eval()
    alone, together = module.critic(x[:1]), module.critic(x)[:1]
    assert not torch.allclose(alone, together)
    assert module.discriminator.head[1].in_features == module.discriminator.feature_dim + 3


@pytest.mark.parametrize("overrides, message", [
    (["constraint=gp"], "constraint gp needs per-sample gradients, which minibatch discrimination mixes"),
    (["variant=catgan"], "variant=catgan's D has none"),
    (["model.minibatch_kernels=0"], "model.minibatch_kernels=0 must be a positive integer"),
])
def test_what_it_cannot_take_is_refused_in_one_line(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory(["data=digits", "model.width=8", *ON, *overrides]))


def test_an_ensemble_refuses_it(cfg_factory):
    assert "minibatch_discrimination" in unsupported(cfg_factory(["data=ring", "model=mlp", *ON]))
