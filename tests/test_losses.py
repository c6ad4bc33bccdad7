"""Every loss against its closed form (SPEC.md table) on hand-picked scores."""
import math

import pytest
import torch

from gan_runner import losses

V_REAL = [0.5, -1.0, 2.0, 0.0]
V_FAKE = [-0.3, 1.2, 0.0, -4.0]


def sp(t):
    return math.log1p(math.exp(t))


def mean(f, values):
    return sum(f(v) for v in values) / len(values)


def t(values):
    return torch.tensor(values, dtype=torch.float64)


CE_D = mean(lambda v: sp(-v), V_REAL) + mean(sp, V_FAKE)

CASES = [
    (losses.Minimax(), CE_D, -mean(sp, V_FAKE)),
    (losses.NonSaturating(), CE_D, mean(lambda v: sp(-v), V_FAKE)),
    (losses.MaximumLikelihood(), CE_D, -0.5 * mean(math.exp, V_FAKE)),
    (losses.LeastSquares(), mean(lambda v: 0.5 * (v - 1) ** 2, V_REAL) + mean(lambda v: 0.5 * v * v, V_FAKE),
     mean(lambda v: 0.5 * (v - 1) ** 2, V_FAKE)),
    (losses.Hinge(), mean(lambda v: max(0.0, 1 - v), V_REAL) + mean(lambda v: max(0.0, 1 + v), V_FAKE),
     -mean(lambda v: v, V_FAKE)),
    (losses.Wasserstein(), mean(lambda v: v, V_FAKE) - mean(lambda v: v, V_REAL), -mean(lambda v: v, V_FAKE)),
    (losses.Energy(margin=1.5), mean(lambda v: v, V_REAL) + mean(lambda v: max(0.0, 1.5 - v), V_FAKE),
     mean(lambda v: v, V_FAKE)),
]


@pytest.mark.parametrize("loss, d_expected, g_expected", CASES, ids=lambda c: type(c).__name__)
def test_closed_form(loss, d_expected, g_expected):
    assert loss.d_loss(t(V_REAL), t(V_FAKE)).item() == pytest.approx(d_expected, rel=1e-12)
    assert loss.g_loss(t(V_FAKE)).item() == pytest.approx(g_expected, rel=1e-12)


def test_cross_entropy_at_zero_is_two_log_two():
    zero = torch.zeros(5)
    assert losses.NonSaturating().d_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert losses.Minimax().g_loss(zero).item() == pytest.approx(-math.log(2))
    assert losses.MaximumLikelihood().g_loss(zero).item() == pytest.approx(-0.5)


def g_grad(loss, v):
    v = torch.tensor([v], requires_grad=True)
    loss.g_loss(v).backward()
    return v.grad.item()


def test_minimax_saturates_where_non_saturating_does_not():
    """Goodfellow 2014: when D rejects fakes confidently (v_f << 0), log(1 - D) gives G no gradient."""
    assert abs(g_grad(losses.Minimax(), -10.0)) < 1e-4
    assert g_grad(losses.NonSaturating(), -10.0) == pytest.approx(-1.0, abs=1e-4)
    # every G loss pushes v_f up (its gradient w.r.t. v_f is negative), but the energy's, which D keeps low on data
    for loss in [c[0] for c in CASES]:
        assert (g_grad(loss, 0.3) > 0) == isinstance(loss, losses.Energy)


def test_one_sided_label_smoothing():
    loss = losses.NonSaturating(real_label=0.9)
    expected = mean(lambda v: 0.9 * sp(-v) + 0.1 * sp(v), V_REAL) + mean(sp, V_FAKE)
    assert loss.d_loss(t(V_REAL), t(V_FAKE)).item() == pytest.approx(expected, rel=1e-12)
    # the fake side is not smoothed: the optimum of the real term moves to sigma(v) = 0.9
    v = torch.tensor([math.log(9.0)], requires_grad=True)
    loss.d_loss(v, torch.tensor([-50.0])).backward()
    assert v.grad.item() == pytest.approx(0.0, abs=1e-6)


def test_label_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="real_label"):
        losses.NonSaturating(real_label=1.5)
