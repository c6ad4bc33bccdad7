"""Gradient penalties against exact values on critics whose input gradient is known in closed form."""
import pytest
import torch
from torch import nn

from gan_runner.constraints import R1, GradientPenalty, input_gradients
from gan_runner.constraints.penalties import per_sample_uniform


def linear_critic(w):
    return lambda x: x.flatten(1) @ w


def test_gp_exact_on_linear_critic():
    torch.manual_seed(0)
    w = torch.randn(3 * 4 * 4, dtype=torch.float64)
    real, fake = torch.randn(8, 3, 4, 4, dtype=torch.float64), torch.randn(8, 3, 4, 4, dtype=torch.float64)
    value = GradientPenalty(weight=10.0).penalty(linear_critic(w), real, fake)
    assert value.item() == pytest.approx(10.0 * (w.norm().item() - 1.0) ** 2, rel=1e-10)


def test_gp_draws_one_epsilon_per_sample():
    assert per_sample_uniform(torch.zeros(5, 3, 7, 7)).shape == (5, 1, 1, 1)
    # With D(x) = ||x||^2 / 2 the gradient at x_hat is x_hat itself: replay the RNG to rebuild x_hat exactly.
    real, fake = torch.randn(6, 2, 3, 3, dtype=torch.float64), torch.randn(6, 2, 3, 3, dtype=torch.float64)
    torch.manual_seed(7)
    value = GradientPenalty(weight=1.0).penalty(lambda x: 0.5 * x.flatten(1).pow(2).sum(1), real, fake)
    torch.manual_seed(7)
    eps = torch.rand(6, 1, 1, 1, dtype=torch.float64)
    x_hat = eps * real + (1 - eps) * fake
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-10)


def test_gp_gradient_reaches_critic_parameters_not_generator():
    critic = nn.Linear(4, 1)
    fake = torch.randn(5, 4, requires_grad=True)
    GradientPenalty().penalty(lambda x: critic(x).squeeze(1), torch.randn(5, 4), fake).backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
    assert fake.grad is None  # fakes are detached inside the penalty


def test_r1_exact_on_quadratic_critic():
    a, gamma = 3.0, 10.0
    real = torch.randn(16, 5, dtype=torch.float64)
    value = R1(gamma).penalty(lambda x: 0.5 * a * x.pow(2).sum(1), real, torch.zeros_like(real))
    expected = 0.5 * gamma * (a**2 * real.pow(2).sum(1)).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-10)


def test_input_gradients_leave_callers_tensor_alone():
    x = torch.randn(4, 3)
    _, grad = input_gradients(lambda v: (v**2).sum(1), x)
    assert not x.requires_grad
    torch.testing.assert_close(grad, 2 * x)
