"""Relativistic losses (Jolicoeur-Martineau 2018) against their closed forms on hand-picked scores."""
import math

import pytest
import torch

from gan_runner.losses import RSGAN, RaGAN

V_REAL = [0.5, -1.0, 2.0, 0.0]
V_FAKE = [-0.3, 1.2, 0.0, -4.0]


def sp(t):
    return math.log1p(math.exp(t))


def mean(values):
    return sum(values) / len(values)


def t(values):
    return torch.tensor(values, dtype=torch.float64)


def test_rsgan_pairs_real_and_fake_sample_by_sample():
    d = mean([sp(-(r - f)) for r, f in zip(V_REAL, V_FAKE)])
    g = mean([sp(-(f - r)) for r, f in zip(V_REAL, V_FAKE)])
    assert RSGAN().d_loss(t(V_REAL), t(V_FAKE)).item() == pytest.approx(d, rel=1e-12)
    assert RSGAN().g_loss(t(V_FAKE), t(V_REAL)).item() == pytest.approx(g, rel=1e-12)


def test_ragan_compares_each_sample_with_the_other_sides_mean():
    mr, mf = mean(V_REAL), mean(V_FAKE)
    d = mean([sp(-(r - mf)) for r in V_REAL]) + mean([sp(f - mr) for f in V_FAKE])
    g = mean([sp(-(f - mr)) for f in V_FAKE]) + mean([sp(r - mf) for r in V_REAL])
    assert RaGAN().d_loss(t(V_REAL), t(V_FAKE)).item() == pytest.approx(d, rel=1e-12)
    assert RaGAN().g_loss(t(V_FAKE), t(V_REAL)).item() == pytest.approx(g, rel=1e-12)


@pytest.mark.parametrize("loss", [RSGAN(), RaGAN()], ids=lambda c: type(c).__name__)
def test_relativistic_losses_need_real_scores_in_the_generator_step(loss):
    assert loss.g_needs_real
    with pytest.raises(ValueError, match="real data"):
        loss.g_loss(t(V_FAKE))


@pytest.mark.parametrize("loss, expected", [(RSGAN(), math.log(2)), (RaGAN(), 2 * math.log(2))],
                         ids=["RSGAN", "RaGAN"])
def test_equal_scores(loss, expected):
    zero = torch.zeros(6)
    assert loss.d_loss(zero, zero).item() == pytest.approx(expected)
    assert loss.g_loss(zero, zero).item() == pytest.approx(expected)
