"""GN and GraN on a piecewise-linear critic (a ReLU MLP), where their Lipschitz properties hold exactly."""
import pytest
import torch
from torch import nn

from gan_runner.constraints import R1, Constraints, GradientNormalization, GraN
from gan_runner.constraints.gradnorm import NormalizedCritic


def relu_mlp(seed=0, dim=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(dim, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1),
                         nn.Flatten(0)).double()


def points(n=1000, dim=3):
    return 3 * torch.randn(n, dim, dtype=torch.float64)


def slopes_of(critic, x):
    """Per-sample ||grad_x critic(x)||; samples are independent, so the gradient of the sum is per sample."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    return grad.norm(dim=1)


def test_gn_output_and_slope_are_bounded_by_one():
    f = relu_mlp()
    f_hat = GradientNormalization().wrap(f)
    x = points()
    scores, norm, norm_hat = f(x).detach(), slopes_of(f, x), slopes_of(f_hat, x)
    assert f_hat(x).abs().max() <= 1.0
    assert norm_hat.max() <= 1.0 + 1e-12
    # inside a linear piece grad f_hat = grad f * ||grad f|| / (||grad f|| + |f|)^2
    torch.testing.assert_close(norm_hat, norm**2 / (norm + scores.abs()) ** 2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("eps", [1e-4, 0.5])
def test_gran_slope_is_k_inside_linear_pieces(eps):
    k = 2.0  # not 1, so that the test sees where K goes
    f = relu_mlp(seed=1)
    x = points()
    norm, norm_hat = slopes_of(f, x), slopes_of(GraN(k=k, eps=eps).wrap(f), x)
    # f = g.x + b on a piece: f_hat = K f n / (n^2 + eps) with n = ||g|| constant, so ||grad f_hat|| = K n^2/(n^2+eps)
    torch.testing.assert_close(norm_hat, k * norm**2 / (norm**2 + eps), rtol=1e-10, atol=1e-12)
    assert ((norm_hat - k).abs() <= k * eps / norm**2).all()


@pytest.mark.parametrize("constraint", [GradientNormalization(), GraN()], ids=lambda c: type(c).__name__)
def test_gradients_reach_generator_and_critic(constraint):
    assert constraint.per_sample_gradients
    generator, f = nn.Linear(2, 3).double(), relu_mlp()
    f_hat = constraint.wrap(f)
    f_hat(generator(torch.randn(16, 2, dtype=torch.float64))).sum().backward()
    assert generator.weight.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in f.parameters())


@pytest.mark.parametrize("constraint", [GradientNormalization(), GraN()], ids=lambda c: type(c).__name__)
def test_works_under_no_grad_and_leaves_the_callers_tensor_alone(constraint):
    f_hat = constraint.wrap(relu_mlp())
    x = points(64)
    with_grad = f_hat(x)
    with torch.no_grad():
        without = f_hat(x)
    assert not x.requires_grad and x.grad_fn is None
    assert with_grad.requires_grad and not without.requires_grad
    torch.testing.assert_close(without, with_grad.detach())


def test_gn_with_r1_applies_each_exactly_once():
    f = relu_mlp()
    both = Constraints([GradientNormalization(), R1(gamma=10.0)])
    critic = both.wrap(f)
    assert isinstance(critic, NormalizedCritic) and critic.discriminator is f
    x = points(32)
    # one normalization: f / (||grad f|| + |f|), not that applied twice
    scores, norm = f(x).detach(), slopes_of(f, x)
    torch.testing.assert_close(critic(x).detach(), scores / (norm + scores.abs()))
    terms = both.penalty(critic, x, points(32))
    assert list(terms) == ["R1"]
    # R1 sees the normalized critic: (gamma / 2) E ||grad f_hat||^2
    expected = 5.0 * (slopes_of(critic, x) ** 2).mean()
    assert terms["R1"].item() == pytest.approx(expected.item(), rel=1e-10)
    assert list(critic.parameters()) == list(f.parameters())
