"""Gradient penalties added to D's loss. Every gradient is per sample, w.r.t. D's input, flattened."""
from torch import Tensor

from gan_runner import draws
from gan_runner.constraints.base import Constraint, Critic, input_gradients


def per_sample_uniform(like: Tensor) -> Tensor:
    """One epsilon per sample, broadcast over all other dimensions (not one per pixel)."""
    return draws.uniform(like.shape[0], *(1,) * (like.dim() - 1), device=like.device, dtype=like.dtype)


def random_interpolates(real: Tensor, fake: Tensor) -> Tensor:
    """x_hat = eps x + (1 - eps) x~ with one eps per sample: WGAN-GP's sampling."""
    eps = per_sample_uniform(real)
    return eps * real + (1.0 - eps) * fake.detach()


class GradientPenalty(Constraint):
    """WGAN-GP (Gulrajani 2017): weight * E[(||grad D(x_hat)|| - 1)^2] on random interpolates."""

    per_sample_gradients = True

    def __init__(self, weight: float = 10.0):
        if weight < 0:
            raise ValueError(f"weight must be >= 0, got {weight}")
        self.weight = weight

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        _, grad = input_gradients(critic, random_interpolates(real, fake))
        return self.weight * ((grad.norm(dim=1) - 1.0) ** 2).mean()


class R1(Constraint):
    """Mescheder 2018: (gamma / 2) E[||grad D(x)||^2] on real data."""

    per_sample_gradients = True

    def __init__(self, gamma: float = 10.0):
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        _, grad = input_gradients(critic, real)
        return 0.5 * self.gamma * grad.pow(2).sum(dim=1).mean()
