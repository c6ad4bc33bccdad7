"""One-sided gradient penalty, WGAN-LP (Petzka, Fischer & Lukovnicov 2018).

The Lipschitz constraint is an inequality, so only gradient norms above 1 are penalized: a critic that is already
1-Lipschitz at the interpolates pays nothing. Sampled at the same interpolates as WGAN-GP.
"""
import torch.nn.functional as F
from torch import Tensor

from gan_runner.constraints.base import Critic, input_gradients
from gan_runner.constraints.penalties import GradientPenalty, random_interpolates


class LipschitzPenalty(GradientPenalty):
    """weight * E[max(0, ||grad D(x_hat)|| - 1)^2]."""

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        _, grad = input_gradients(critic, random_interpolates(real, fake))
        return self.weight * F.relu(grad.norm(dim=1) - 1.0).pow(2).mean()
