"""DRAGAN (Kodali, Abernethy, Hays & Kira 2017): a gradient penalty in a noisy neighbourhood of the real data.

Mode collapse shows up as sharp gradients of D around real points, so the penalty is taken at x + delta for real x
only; generated samples play no part.
"""
import torch
from torch import Tensor

from gan_runner.constraints.base import Constraint, Critic, input_gradients


class DRAGAN(Constraint):
    """weight * E[(||grad D(x + delta)|| - 1)^2], delta = 0.5 * std(x) * U[0, 1) elementwise."""

    per_sample_gradients = True

    def __init__(self, weight: float = 10.0):
        self.weight = weight

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        # One std over every element of the batch, as in the authors' code (per feature it would vanish on
        # constant pixels such as MNIST's background); the population std, so a batch of one gives 0, not NaN.
        std = real.detach().std(correction=0)
        _, grad = input_gradients(critic, real + 0.5 * std * torch.rand_like(real))
        return self.weight * ((grad.norm(dim=1) - 1.0) ** 2).mean()
