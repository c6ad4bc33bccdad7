"""WGAN-div (Wu et al. 2018): k * E[||grad D(x)||^p] over the mixture (P_r + P_g)/2 of real and fake samples.

Unlike WGAN-GP's penalty it needs no target norm of 1 and no interpolates; with the Wasserstein loss it estimates
the Wasserstein divergence. The paper's best setting is k=2, p=6.
"""
from torch import Tensor

from gan_runner.constraints.base import Constraint, Critic, input_gradients


class WGANDiv(Constraint):
    """k * (E_real ||grad D||^p + E_fake ||grad D||^p) / 2."""

    per_sample_gradients = True

    def __init__(self, k: float = 2.0, p: float = 6.0):
        if k < 0 or p <= 0:
            raise ValueError(f"needs k >= 0 and p > 0, got k={k}, p={p}")
        self.k, self.p = k, p

    def _mean_norm_power(self, critic: Critic, x: Tensor) -> Tensor:
        _, grad = input_gradients(critic, x)
        return grad.norm(dim=1).pow(self.p).mean()

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * self.k * (self._mean_norm_power(critic, real) + self._mean_norm_power(critic, fake))
