"""The Dirac-GAN's players (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do actually
Converge?", §2.2): a generator with one parameter θ, G(z) = θ, and a linear discriminator D(x) = ψ·x.

They follow every net's conventions, so that the module, the losses, the constraints and the update rules treat
them like any other model: G takes `z_dim` and `shape` (and ignores z, as the paper's point-mass generator does);
D is a `Discriminator` whose trunk is the identity on the 1-D point and whose head is a 1x1 weight without bias,
ψ. Our scores rank real data high, the paper's D ranks fakes high (its σ(D) is the probability of "fake"): our ψ
is the paper's −ψ, the same game reflected in ψ (docs/dirac_table.md).
"""
import torch
from torch import Tensor, nn

from gan_runner.checks import ConfigError
from gan_runner.constraints import GradientNormalization, GraN, SpectralNorm
from gan_runner.errors import UserError
from gan_runner.nets.critic import Discriminator

# Wrappers that leave nothing to learn in a 1x1 linear critic; each with the reason, for a one-line refusal.
_MEANINGLESS = {
    SpectralNorm: "divides the 1x1 weight by its spectral norm |ψ|, so D(x) = sign(ψ)·x whatever ψ is: D cannot "
                  "learn, and ψ = 0, the equilibrium, is undefined",
    GradientNormalization: "makes D(x) = sign(ψ)·x/(1 + |x|), which does not depend on |ψ|: D cannot learn",
    GraN: "makes D(x) ≈ K·sign(ψ)·x outside |ψ| < √eps, which does not depend on |ψ|: D cannot learn",
}


def _check_shape(args: dict) -> None:
    if list(args["shape"]) != [1]:
        raise ConfigError("shape", "must be [1]: the Dirac-GAN lives on the real line")


class DiracGenerator(nn.Module):
    """G(z) = θ for every z: the generator distribution is the point mass at θ."""

    def __init__(self, z_dim: int, shape: list[int], theta: float = 1.0):
        super().__init__()
        self.z_dim = z_dim
        self.theta = nn.Parameter(torch.tensor([float(theta)]))

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        if cfg.data.kind != "dirac":
            raise UserError(f"model=dirac is the Dirac-GAN's one-parameter G and D, whose data is a point mass at 0: "
                            f"use data=dirac (not data={cfg.data.name}), or experiment=dirac")
        _check_shape(args)

    def forward(self, z: Tensor) -> Tensor:
        return self.theta.expand(z.shape[0], 1)


class DiracDiscriminator(Discriminator):
    """D(x) = ψ·x: the identity trunk (features = the point itself) and a 1x1 head without bias."""

    def __init__(self, shape: list[int], psi: float = 1.0):
        super().__init__(nn.Identity(), 1)
        self.head = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            self.head.weight.fill_(float(psi))

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        """Wrappers that leave the 1x1 critic nothing to learn are refused here, where the reason is known."""
        from gan_runner.validate import constraint_classes

        _check_shape(args)
        for name, cls_ in constraint_classes(cfg).items():
            for wrapper, why in _MEANINGLESS.items():
                if issubclass(cls_, wrapper):
                    raise UserError(f"constraint {name} makes no sense for the Dirac-GAN: it {why}; use none, clip, "
                                    "gp, lp, r1, r2, dragan, div or noise")
