"""Likelihood-ratio GANs (Basioti & Moustakides 2020): each member's psi and phi against its (omega, rho), and D's
optimum on two Gaussians, found by maximizing J numerically, against omega(r) and the divergence F integrates to."""
import math
from pathlib import Path

import hydra.utils
import pytest
import torch
from omegaconf import OmegaConf

from gan_runner import likelihood_ratio as lr
from gan_runner import losses

NAMES = list(lr.MEMBERS)
F64 = torch.float64
CONF = Path(__file__).parents[1] / "gan_runner" / "conf" / "loss" / "likelihood_ratio.yaml"

# f1 = N(1, 1) (real), f0 = N(0, 1) (generated): r(x) = f1/f0 = exp(x - 1/2). The grid reaches where both densities
# are below 1e-20, and 4200 intervals make Simpson's rule exact to far below the tolerances used here.
X = torch.linspace(-10.0, 11.0, 4201, dtype=F64)
F0 = torch.exp(-0.5 * X**2) / math.sqrt(2 * math.pi)
F1 = torch.exp(-0.5 * (X - 1.0) ** 2) / math.sqrt(2 * math.pi)
R = torch.exp(X - 0.5)
# Closed forms where the divergence has one for these two Gaussians: the Bhattacharyya coefficient
# ∫√(f0 f1) = exp(-1/8), and ∫ f1²/f0 = exp(1).
KNOWN = {"exponential": -4.0 * math.exp(-1 / 8), "pearson": 0.5 * math.e}


def simpson(values: torch.Tensor) -> float:
    h = (X[1] - X[0]).item()
    return (h / 3 * (values[0] + values[-1] + 4 * values[1:-1:2].sum() + 2 * values[2:-1:2].sum())).item()


def derivative(fn, v):
    v = v.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(v).sum(), v)
    return grad


def pointwise_argmax(member: lr.Member, r: torch.Tensor) -> torch.Tensor:
    """The raw score v maximizing phi(v) + r psi(v) (J's integrand divided by f0 > 0) at every point on its own,
    from the values alone: a bracket [-b, b] doubled until its ends score below its halves (for a unimodal function
    this puts the maximum inside), then golden-section search."""
    def j(v):
        return member.phi(v) + r * member.psi(v)

    b = torch.ones_like(r)
    for _ in range(40):
        grow = ~((j(b) < j(b / 2)) & (j(-b) < j(-b / 2)))
        b = torch.where(grow, 2 * b, b)
    lo, hi, g = -b, b, (math.sqrt(5) - 1) / 2
    for _ in range(200):
        c, d = hi - g * (hi - lo), lo + g * (hi - lo)
        left = j(c) > j(d)  # the maximum is not right of d
        lo, hi = torch.where(left, lo, c), torch.where(left, d, hi)
    return (lo + hi) / 2


@pytest.mark.parametrize("name", NAMES)
def test_psi_and_phi_have_the_derivatives_the_construction_asks(name):
    """psi'(u) = rho(u), phi'(u) = -omega^{-1}(u) rho(u), by autograd through v -> u at points where u lies in
    omega's range (omega^{-1}(u) in (0, inf)), where rho must be positive and the score map increasing."""
    m = lr.member(name)
    v = torch.linspace(-4.0, 4.0, 161, dtype=F64)
    inside = (m.omega_inv(m.score(v)) > 0) & torch.isfinite(m.omega_inv(m.score(v)))
    v = v[inside]
    assert len(v) >= 15
    u, du = m.score(v), derivative(m.score, v)
    rho, inverse = m.rho(u), m.omega_inv(u)
    assert (du > 0).all() and (rho > 0).all()
    torch.testing.assert_close(derivative(m.psi, v), rho * du, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(derivative(m.phi, v), -inverse * rho * du, rtol=1e-10, atol=1e-13)
    r = torch.logspace(-3, 3, 25, dtype=F64)
    assert (m.omega(r)[1:] > m.omega(r)[:-1]).all(), "omega must increase"
    torch.testing.assert_close(m.omega_inv(m.omega(r)), r, rtol=1e-9, atol=0.0)


@pytest.mark.parametrize("name", NAMES)
def test_the_maximizing_discriminator_is_omega_of_the_likelihood_ratio(name):
    m = lr.member(name)
    u = m.score(pointwise_argmax(m, R))
    # measured at worst: 7e-8 absolute (exponential, near u = 0), 3e-8 relative (pearson, 7e-4 at u = 3.6e4)
    torch.testing.assert_close(u, m.omega(R), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_the_value_at_the_optimum_is_the_members_divergence(name):
    m = lr.member(name)
    v = pointwise_argmax(m, R)
    optimum = simpson(F0 * m.phi(v) + F1 * m.psi(v))  # J at the numerically found D
    divergence = simpson(F0 * m.f(R))  # ∫ f0 F(f1/f0)
    assert optimum == pytest.approx(divergence, rel=1e-8)  # measured: 4e-16 at worst
    if name in KNOWN:
        assert divergence == pytest.approx(KNOWN[name], rel=1e-6)
    # F is convex (F' = psi(omega(r)) increases), so the value is an f-divergence
    r = torch.tensor([0.25, 1.0, 4.0], dtype=F64, requires_grad=True)
    (slope,) = torch.autograd.grad(m.f(r).sum(), r)
    assert (slope[1:] > slope[:-1]).all()


V_REAL = torch.tensor([0.5, -1.0, 2.0, 0.0, 7.5], dtype=F64)
V_FAKE = torch.tensor([-0.3, 1.2, 0.0, -4.0, 3.3], dtype=F64)


@pytest.mark.parametrize("ours, theirs", [
    (losses.LikelihoodRatio("cross_entropy", "minimax"), losses.Minimax()),
    (losses.LikelihoodRatio("cross_entropy", "non_saturating"), losses.NonSaturating()),
    (losses.LikelihoodRatio("least_squares", "non_saturating"), losses.LeastSquares()),
], ids=lambda c: getattr(c, "member", type(c).__name__))
def test_members_that_are_existing_losses_match_them(ours, theirs):
    """omega = r/(1+r), rho = 1/z is the GAN discriminator's cross-entropy exactly (no constant apart); with
    rho = 1 - z it is LSGAN's D with a=0, b=1, and the non-saturating G is LSGAN's G."""
    assert ours.d_loss(V_REAL, V_FAKE).item() == pytest.approx(theirs.d_loss(V_REAL, V_FAKE).item(), rel=1e-12)
    assert ours.g_loss(V_FAKE).item() == pytest.approx(theirs.g_loss(V_FAKE).item(), rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_generator_losses(name):
    m = lr.member(name)
    assert losses.LikelihoodRatio(name).g_loss(V_FAKE).item() == pytest.approx(m.phi(V_FAKE).mean().item())
    ns = losses.LikelihoodRatio(name, generator="non_saturating")
    assert ns.g_loss(V_FAKE).item() == pytest.approx(-m.psi(V_FAKE).mean().item())
    d = losses.LikelihoodRatio(name).d_loss(V_REAL, V_FAKE).item()
    assert d == pytest.approx(-(m.psi(V_REAL).mean() + m.phi(V_FAKE).mean()).item())


@pytest.mark.parametrize("name", NAMES)
def test_closed_forms_stay_finite_in_float32(name):
    m = lr.member(name)
    v = torch.tensor([-30.0, 0.0, 30.0])
    assert torch.isfinite(m.psi(v)).all() and torch.isfinite(m.phi(v)).all()


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="loss.member='kl': choose one of cross_entropy, exponential, "
                                         "least_squares, pearson"):
        losses.LikelihoodRatio("kl")
    with pytest.raises(ValueError, match="loss.generator='ns': choose one of minimax, non_saturating"):
        losses.LikelihoodRatio("exponential", generator="ns")


def test_the_config_builds_the_papers_default():
    loss = hydra.utils.instantiate(OmegaConf.load(CONF))
    assert isinstance(loss, losses.LikelihoodRatio)
    assert (loss.member, loss.generator) == ("cross_entropy", "minimax")


@pytest.mark.parametrize("constraint", ["none", "gp", "sn", "clip", "noise", "gn"])
@pytest.mark.parametrize("name", NAMES)
def test_each_member_trains_with_each_constraint_family(cfg_factory, train_steps, name, constraint):
    from gan_runner.validate import validate

    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=8", "loss=likelihood_ratio", f"loss.member={name}",
                       f"constraint={constraint}"])
    validate(cfg)
    module, before = train_steps(cfg)
    assert module.iteration == 2 and all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
