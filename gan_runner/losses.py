"""Adversarial losses as pure functions of the critic's raw scores (SPEC.md, "Adversarial losses").

D returns a raw score v; v_r = D(real), v_f = D(G(z)). D minimizes `d_loss`, G minimizes `g_loss`; both are
means over the batch. A loss is chosen in config by `_target_`, never by an if/elif on its name.
"""
import abc

import torch
import torch.nn.functional as F
from torch import Tensor

from gan_runner import fgan, likelihood_ratio
from gan_runner.distributed import mean_over_ranks
from gan_runner.errors import UserError


class Loss(abc.ABC):
    """Base: subclasses define the two players' objectives and nothing else (no state, no optimizer code)."""

    #: True when `g_loss` also needs the critic's scores on real data (relativistic losses).
    g_needs_real = False
    #: True when a player's loss is a function of a batch mean, not a mean over the batch of per-sample terms
    #: (an ensemble then takes each member's loss on its own rows).
    batch_level = False

    @abc.abstractmethod
    def d_loss(self, v_real: Tensor, v_fake: Tensor) -> Tensor: ...

    @abc.abstractmethod
    def g_loss(self, v_fake: Tensor, v_real: Tensor | None = None) -> Tensor: ...


class CrossEntropy(Loss):
    """D's cross-entropy with logits; `real_label` < 1 is one-sided label smoothing (Improved GAN)."""

    def __init__(self, real_label: float = 1.0):
        if not 0.0 < real_label <= 1.0:
            raise ValueError(f"loss.real_label must be in (0, 1], got {real_label}")
        self.real_label = real_label

    def d_loss(self, v_real, v_fake):
        a = self.real_label
        real_term = a * F.softplus(-v_real) + (1.0 - a) * F.softplus(v_real)
        return real_term.mean() + F.softplus(v_fake).mean()


class Minimax(CrossEntropy):
    """Goodfellow 2014, saturating: G minimizes log(1 - sigma(v_f)) = -softplus(v_f)."""

    def g_loss(self, v_fake, v_real=None):
        return -F.softplus(v_fake).mean()


class NonSaturating(CrossEntropy):
    """Goodfellow 2014, non-saturating: G minimizes -log sigma(v_f) = softplus(-v_f)."""

    def g_loss(self, v_fake, v_real=None):
        return F.softplus(-v_fake).mean()


class MaximumLikelihood(CrossEntropy):
    """NIPS'16 tutorial's J_G = -1/2 E exp(sigma^-1(D(G(z)))): the logit is v_f itself."""

    def g_loss(self, v_fake, v_real=None):
        return -0.5 * torch.exp(v_fake).mean()


class LeastSquares(Loss):
    """LSGAN with a=0, b=c=1 (Mao 2017)."""

    def d_loss(self, v_real, v_fake):
        return 0.5 * ((v_real - 1.0) ** 2).mean() + 0.5 * (v_fake**2).mean()

    def g_loss(self, v_fake, v_real=None):
        return 0.5 * ((v_fake - 1.0) ** 2).mean()


class Hinge(Loss):
    """Lim & Ye 2017."""

    def d_loss(self, v_real, v_fake):
        return F.relu(1.0 - v_real).mean() + F.relu(1.0 + v_fake).mean()

    def g_loss(self, v_fake, v_real=None):
        return -v_fake.mean()


class Wasserstein(Loss):
    """Arjovsky 2017: the critic maximizes E v_r - E v_f (needs a Lipschitz constraint to mean anything)."""

    def d_loss(self, v_real, v_fake):
        return v_fake.mean() - v_real.mean()

    def g_loss(self, v_fake, v_real=None):
        return -v_fake.mean()


class FGAN(Loss):
    """Nowozin 2016: D maximizes E_P[g(v_r)] - E_Q[f*(g(v_f))], a lower bound on D_f(P||Q) that is tight at the
    optimal critic; G minimizes the paper's non-saturating -E_Q[g(v_f)]. g and f* come from `gan_runner.fgan`."""

    def __init__(self, divergence: str = "kl"):
        fgan.divergence(divergence)  # fail at construction on an unknown name
        self.divergence = divergence  # the name, not the functions: a loss stays picklable

    def d_loss(self, v_real, v_fake):
        div = fgan.divergence(self.divergence)
        return div.conjugate(v_fake).mean() - div.activation(v_real).mean()

    def g_loss(self, v_fake, v_real=None):
        return -fgan.divergence(self.divergence).activation(v_fake).mean()


class LikelihoodRatio(Loss):
    """Basioti & Moustakides 2020: D maximizes E_real[psi(u(v_r))] + E_G[phi(u(v_f))], maximized pointwise at
    u = omega(p_real/p_G) and there an f-divergence. G minimizes E_G[phi(u(v_f))] (`minimax`, the paper's min-max)
    or -E_G[psi(u(v_f))] (`non_saturating`). Members in `gan_runner.likelihood_ratio`."""

    def __init__(self, member: str = "cross_entropy", generator: str = "minimax"):
        likelihood_ratio.member(member)  # fail at construction on an unknown name
        likelihood_ratio.generator(generator)
        self.member, self.generator = member, generator  # names, not functions: a loss stays picklable

    def d_loss(self, v_real, v_fake):
        m = likelihood_ratio.member(self.member)
        return -(m.psi(v_real).mean() + m.phi(v_fake).mean())

    def g_loss(self, v_fake, v_real=None):
        return likelihood_ratio.generator(self.generator)(likelihood_ratio.member(self.member), v_fake).mean()


class Relativistic(Loss):
    """Jolicoeur-Martineau 2018: each player wants its own samples to score higher than the other side's."""

    g_needs_real = True

    @abc.abstractmethod
    def prefer(self, a: Tensor, b: Tensor) -> Tensor:
        """The loss of a player who wants the scores `a` to exceed the scores `b`."""

    def d_loss(self, v_real, v_fake):
        return self.prefer(v_real, v_fake)

    def g_loss(self, v_fake, v_real=None):
        if v_real is None:
            raise ValueError(f"{type(self).__name__}.g_loss needs the critic's scores on real data")
        return self.prefer(v_fake, v_real)


class RSGAN(Relativistic):
    """Relativistic standard GAN: -log sigma(C(a) - C(b)), real and fake paired sample by sample."""

    def prefer(self, a, b):
        return F.softplus(b - a).mean()


class RaGAN(Relativistic):
    """Relativistic average standard GAN: each sample against the mean score of the other side, both terms. The
    means are the global batch's under DDP (a function of a batch mean is not a mean over the batch)."""

    batch_level = True

    def prefer(self, a, b):
        mean_a, mean_b = mean_over_ranks(a.mean()), mean_over_ranks(b.mean())
        return F.softplus(mean_b - a).mean() + F.softplus(b - mean_a).mean()


class Energy(Loss):
    """EBGAN (Zhao, Mathieu & LeCun 2017): the score is an energy, low on data (variant=ebgan's autoencoder: its
    reconstruction error). D minimizes E(x) + [m - E(G(z))]⁺, pushing fakes up to the margin m; G minimizes E(G(z))."""

    def __init__(self, margin: float = 1.0):
        if margin <= 0:
            raise ValueError(f"loss.margin must be > 0, got {margin}")
        self.margin = margin

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        if cfg.variant.name != "ebgan":
            raise UserError("loss=energy needs a critic whose scores are energies (>= 0, low on data): use "
                            "variant=ebgan, or another loss")

    def d_loss(self, v_real, v_fake):
        return v_real.mean() + F.relu(self.margin - v_fake).mean()

    def g_loss(self, v_fake, v_real=None):
        return v_fake.mean()
