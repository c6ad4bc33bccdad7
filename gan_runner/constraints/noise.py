"""Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017): blur both distributions so that their supports
overlap, which gives G a useful gradient early on; to first order it acts like a gradient penalty on D.

sigma follows its schedule in training and evaluation alike: the noisy critic is the critic being trained.
"""
from torch import Tensor, nn

from gan_runner import draws
from gan_runner.constraints.base import Constraint


class InstanceNoise(Constraint):
    """Add N(0, sigma^2) to every D input, real and fake; sigma = sigma0 * max(0, 1 - step / anneal_steps)."""

    def __init__(self, sigma: float = 0.1, anneal_steps: int = 1000):
        if sigma < 0 or anneal_steps <= 0:
            raise ValueError(f"constraint.noise needs sigma >= 0 and anneal_steps > 0, got sigma={sigma}, "
                             f"anneal_steps={anneal_steps}")
        self.sigma0, self.anneal_steps = sigma, anneal_steps

    def sigma(self) -> float:
        return self.sigma0 * max(0.0, 1.0 - self.step / self.anneal_steps)

    def wrap(self, discriminator: nn.Module) -> nn.Module:
        return NoisyCritic(discriminator, self.sigma)


class NoisyCritic(nn.Module):
    def __init__(self, discriminator: nn.Module, sigma):
        super().__init__()
        self.discriminator = discriminator
        self.sigma = sigma

    def forward(self, x: Tensor, *condition) -> Tensor:
        sigma = self.sigma()
        return self.discriminator(x + sigma * draws.normal_like(x) if sigma > 0 else x, *condition)
