"""Precision / recall / density / coverage against cases small enough to work out by hand."""
import pytest
import torch

from gan_runner.metrics.prdc import prdc


def test_identical_sets():
    x = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    result = prdc(x, x.clone(), k=5)
    assert result["precision"] == result["recall"] == result["coverage"] == 1.0
    # Open balls: each holds its centre and k - 1 neighbours, so every real ball counts k fakes; only approximately,
    # because cdist's matrix-product path rounds d(a, b) and d(b, a) differently and can flip a tie at the radius.
    assert result["density"] == pytest.approx(1.0, abs=1e-2)


def test_disjoint_far_apart_sets():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(200, 8, generator=g), torch.randn(150, 8, generator=g) + 1000.0
    assert prdc(real, fake) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_hand_worked_1d_case():
    # k=1. Real 0, 1, 3 have radii 1, 1, 2; fakes 0.4, 0.6, 20, 20.5 have radii 0.2, 0.2, 0.5, 0.5.
    real = torch.tensor([[0.0], [1.0], [3.0]])
    fake = torch.tensor([[0.4], [0.6], [20.0], [20.5]])
    result = prdc(real, fake, k=1)
    assert result["precision"] == 0.5  # 0.4 and 0.6 lie in the balls of 0 and 1; 20 and 20.5 in none
    assert result["density"] == 1.0  # (2 + 2 + 0 + 0) / (k * 4)
    assert result["coverage"] == pytest.approx(2 / 3)  # the ball of 3 (radius 2) holds no fake
    assert result["recall"] == 0.0  # the fake balls are too small to reach any real point


def test_needs_more_than_k_samples():
    with pytest.raises(ValueError, match="more than k=5"):
        prdc(torch.randn(5, 2), torch.randn(10, 2), k=5)
