"""PacGAN's mode metrics, exact W1 and the critic's W1 estimate on point sets placed by hand."""
import math

import pytest
import torch

from gan_runner.metrics.toy import critic_w1_estimate, exact_w1, mode_metrics

STD = 0.01
ANGLES = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
RING = torch.stack([ANGLES.cos(), ANGLES.sin()], dim=1).float()


def test_every_mode_hit_equally():
    result = mode_metrics(RING.repeat(10, 1), RING, STD)
    assert result["modes"] == 8 and result["hq_percent"] == 100.0
    assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_one_mode_only():
    result = mode_metrics(RING[:1].repeat(80, 1), RING, STD)
    assert result["modes"] == 1 and result["hq_percent"] == 100.0
    assert result["reverse_kl"] == pytest.approx(math.log(8))


def test_half_far_away_half_on_two_modes():
    samples = torch.cat([RING[:2].repeat(5, 1), torch.full((10, 2), 5.0)])
    result = mode_metrics(samples, RING, STD)
    assert result["modes"] == 2 and result["hq_percent"] == 50.0
    assert result["reverse_kl"] == pytest.approx(math.log(4))  # uniform over 2 of 8 modes; empty modes add 0


def test_nothing_high_quality():
    result = mode_metrics(torch.full((20, 2), 100.0), RING, STD)
    assert result["modes"] == 0 and result["hq_percent"] == 0.0
    assert math.isnan(result["reverse_kl"])  # no histogram to compare


def test_three_sigma_boundary_is_euclidean_and_inclusive():
    centers = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    # 0.75 = 3 * 0.25 exactly; (0.6, 0.6) is within 3 sigma per coordinate but 0.85 away.
    samples = torch.tensor([[0.75, 0.0], [0.0, 0.76], [0.6, 0.6], [4.0, -0.75]])
    result = mode_metrics(samples, centers, std=0.25)
    assert result["hq_percent"] == 50.0 and result["modes"] == 2


def test_exact_w1_of_a_shifted_cloud_is_the_shift():
    cloud = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    shifted = (cloud + torch.tensor([0.7, 0.0]))[torch.randperm(300, generator=torch.Generator().manual_seed(1))]
    assert exact_w1(cloud, shifted) == pytest.approx(0.7, abs=1e-6)
    assert exact_w1(cloud, cloud) == 0.0


def test_exact_w1_needs_equal_sizes():
    with pytest.raises(ValueError, match="equal-size"):
        exact_w1(torch.zeros(3, 2), torch.zeros(4, 2))


def test_optimal_critic_estimate_equals_exact_w1():
    # For a pure shift, f(x) = x_0 is an optimal 1-Lipschitz critic: its estimate is W1 (Kantorovich duality).
    fake = torch.randn(200, 2, generator=torch.Generator().manual_seed(2))
    real = fake + torch.tensor([0.5, 0.0])
    critic = torch.nn.Linear(2, 1, bias=False)
    critic.weight.data = torch.tensor([[1.0, 0.0]])
    estimate = critic_w1_estimate(critic, real, fake)
    assert isinstance(estimate, float)
    assert estimate == pytest.approx(exact_w1(real, fake), abs=1e-6) and estimate == pytest.approx(0.5, abs=1e-6)


def test_exact_w1_equals_the_optimal_assignment():
    from scipy.optimize import linear_sum_assignment

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 2, generator=g), torch.randn(200, 2, generator=g) * 2 + 1
    cost = torch.cdist(a.double(), b.double()).numpy()
    rows, cols = linear_sum_assignment(cost)
    assert exact_w1(a, b) == pytest.approx(cost[rows, cols].mean(), rel=1e-9)
