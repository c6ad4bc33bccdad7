"""Likelihood-ratio GANs (Basioti & Moustakides, "Designing GANs: A Likelihood Ratio Approach", arXiv:2002.00865,
2020; resubmitted to ICLR 2021 as "Adversarial problems for generative networks"), by member name.

D's output u(x) maximizes J(u) = E_{x~f1}[psi(u(x))] + E_{x~f0}[phi(u(x))], f1 the real data's density and f0 G's.
Pick a strictly increasing omega and a rho > 0 on omega's range, and set

    psi'(z) = rho(z),    phi'(z) = -omega^{-1}(z) rho(z).

Then dJ/du = rho(u) f0 (r - omega^{-1}(u)) at each x, r = f1/f0: positive below u = omega(r), negative above, so the
pointwise maximizer is u = omega(r), whatever rho. Its value is integral f0 F(f1/f0) with
F(r) = phi(omega(r)) + r psi(omega(r)), F'(r) = psi(omega(r)) increasing: F is convex, the value an f-divergence, and
G minimizing it reaches f0 = f1 (Su Jianlin, "Designing GANs：又一个GAN生产车间", kexue.fm/archives/7210, 2020,
works through this derivation and notes that its members are f-GANs reached from the dual side).

Sources of the members. The construction (psi, phi from omega and rho) is the paper's, as Su's post restates it.
The paper's own list of examples could not be read here (only its abstract: some "can be recognized from other
applications and some are introduced for the first time"), so each member is one whose (omega, rho) Su's post
works out, or the framework's simplest case:
  cross_entropy  omega = r/(1+r), rho = 1/z: Goodfellow's discriminator (Su's worked example);
  exponential    omega = log r, rho = e^{-z/2}: the exponential (AdaBoost) loss; Su's (1/2) log r with rho = e^{-z}
                 gives half this loss;
  least_squares  omega = r/(1+r), rho = 1 - z: LSGAN's D with a=0, b=1 (Su's a=0, b=1 example with rho halved, so
                 that D's loss is this project's `ls`);
  pearson        omega = r, rho = 1: derived here from the framework, not confirmed in the paper.
Su's post pairs them the other way round (phi on real data, r = f0/f1); his score t is 1 - u here (-u/2 for the
exponential).

Each member gives D's score map v -> u (increasing, onto omega's range or a superset where J stays concave), psi and
phi as closed forms in v (stable: softplus, not log(sigmoid)), and for the tests rho, omega, omega^{-1} and F.
"""
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class Member(NamedTuple):
    score: Callable[[Tensor], Tensor]  # v -> u
    psi: Callable[[Tensor], Tensor]  # v -> psi(u(v)), D's reward on real data
    phi: Callable[[Tensor], Tensor]  # v -> phi(u(v)), D's reward on generated data
    rho: Callable[[Tensor], Tensor]  # z -> rho(z) = psi'(z)
    omega: Callable[[Tensor], Tensor]  # r -> the optimal u
    omega_inv: Callable[[Tensor], Tensor]  # z -> omega^{-1}(z)
    f: Callable[[Tensor], Tensor]  # r -> F(r), the value at the optimum is integral f0 F(f1/f0)
    divergence: str  # what integral f0 F(f1/f0) is, P = f1 (real), Q = f0 (generated)


MEMBERS = {
    # psi = log u = -softplus(-v), phi = log(1 - u) = -softplus(v) at u = sigmoid(v)
    "cross_entropy": Member(
        torch.sigmoid, lambda v: -F.softplus(-v), lambda v: -F.softplus(v),
        lambda z: 1.0 / z, lambda r: r / (1.0 + r), lambda z: z / (1.0 - z),
        lambda r: torch.xlogy(r, r) - (1.0 + r) * torch.log1p(r), "2 JS(P‖Q) - log 4"),
    # psi = -2 exp(-u/2), phi = -2 exp(u/2) at u = v: D's score estimates log(f1/f0)
    "exponential": Member(
        lambda v: v, lambda v: -2.0 * torch.exp(-0.5 * v), lambda v: -2.0 * torch.exp(0.5 * v),
        lambda z: torch.exp(-0.5 * z), torch.log, torch.exp,
        lambda r: -4.0 * torch.sqrt(r), "2 H²(P,Q) - 4, H² = ∫(√p - √q)² (squared Hellinger)"),
    # psi = -(1 - u)²/2, phi = -u²/2 at u = v; rho < 0 above 1, but J is concave in u on all of R
    "least_squares": Member(
        lambda v: v, lambda v: -0.5 * (v - 1.0) ** 2, lambda v: -0.5 * v**2,
        lambda z: 1.0 - z, lambda r: r / (1.0 + r), lambda z: z / (1.0 - z),
        lambda r: -0.5 * r / (1.0 + r), "(Δ(P,Q) - 2)/8, Δ = ∫(p - q)²/(p + q) (triangular discrimination)"),
    # psi = u, phi = -u²/2 at u = v: D's score estimates f1/f0 itself
    "pearson": Member(
        lambda v: v, lambda v: v, lambda v: -0.5 * v**2,
        torch.ones_like, lambda r: r, lambda z: z,
        lambda r: 0.5 * r**2, "(χ²(P‖Q) + 1)/2, χ² = ∫(p - q)²/q (Pearson)"),
}

# What G minimizes, from D's scores on its samples: the paper's min-max game, or Goodfellow's swap of phi(u) for
# -psi(u) (f-GAN's choice too: its -E_Q[g(v_f)] is this with psi = g), which keeps a gradient where D rejects G.
GENERATORS = {
    "minimax": lambda m, v: m.phi(v),
    "non_saturating": lambda m, v: -m.psi(v),
}


def member(name: str) -> Member:
    if name not in MEMBERS:
        raise ValueError(f"loss.member={name!r}: choose one of {', '.join(MEMBERS)}")
    return MEMBERS[name]


def generator(name: str) -> Callable[[Member, Tensor], Tensor]:
    if name not in GENERATORS:
        raise ValueError(f"loss.generator={name!r}: choose one of {', '.join(GENERATORS)}")
    return GENERATORS[name]
