"""Gradient-normalized critics: D's forward becomes a per-sample function of f(x) and ||grad_x f(x)||.

GN (Wu et al., ICCV'21) and GraN (Bhaskara et al., WACV'22) bound D's slope through its output instead of its
weights. The normalized critic is what both players see, so the input gradient is taken with create_graph: D's
loss differentiates through it to D's weights, G's loss through it to the fake samples.
"""
import abc

import torch
from torch import Tensor, nn

from gan_runner.constraints.base import Constraint, Critic
from gan_runner.precision import input_gradient


def scores_and_slopes(f: Critic, x: Tensor) -> tuple[Tensor, Tensor]:
    """f(x) and the per-sample norm of grad_x f(x), flattened over non-batch dims.

    Unlike `input_gradients`, x is used as it is when it already requires grad, so that gradients reach G.
    Works for torch.no_grad() callers (evaluation), returning detached values; the caller's tensor never gets
    requires_grad (DESIGN.md pitfall 14).
    """
    differentiable = torch.is_grad_enabled()
    with torch.enable_grad():
        x_in = x if x.requires_grad else x.detach().requires_grad_(True)
        scores = f(x_in)
        grad = input_gradient(scores, x_in, create_graph=differentiable)
    slopes = grad.flatten(1).norm(dim=1)
    return (scores, slopes) if differentiable else (scores.detach(), slopes)


class NormalizedCritic(nn.Module):
    """D wrapped so that its output is `normalize(f(x), ||grad_x f(x)||)`; D stays a submodule (its parameters)."""

    def __init__(self, discriminator: nn.Module, normalize):
        super().__init__()
        self.discriminator = discriminator
        self.normalize = normalize

    def forward(self, x: Tensor, *condition) -> Tensor:
        """`condition` (a conditional D's labels) is passed through: the slope is taken with respect to x alone."""
        return self.normalize(*scores_and_slopes(lambda inputs: self.discriminator(inputs, *condition), x))


class _Normalization(Constraint, abc.ABC):
    # Per-sample input gradients: BatchNorm in D would mix the batch into each sample's slope.
    per_sample_gradients = True

    def wrap(self, discriminator: nn.Module) -> nn.Module:
        return NormalizedCritic(discriminator, self.normalize)

    @abc.abstractmethod
    def normalize(self, scores: Tensor, slopes: Tensor) -> Tensor: ...


class GradientNormalization(_Normalization):
    """GN: f_hat = f / (||grad f|| + |f|). |f_hat| <= 1, and f_hat is 1-Lipschitz when f is piecewise linear."""

    def normalize(self, scores, slopes):
        return scores / (slopes + scores.abs())


class GraN(_Normalization):
    """GraN: f_hat = K f ||grad f|| / (||grad f||^2 + eps), i.e. about K f / ||grad f||: piecewise K-Lipschitz.

    K multiplies the whole output, which is what makes f_hat piecewise K-Lipschitz: inside a linear piece of f,
    ||grad f_hat|| = K ||grad f||^2 / (||grad f||^2 + eps).
    """

    def __init__(self, k: float = 1.0, eps: float = 1e-4):
        if k <= 0 or eps <= 0:
            raise ValueError(f"constraint.gran needs k > 0 and eps > 0, got k={k}, eps={eps}")
        self.k, self.eps = k, eps

    def normalize(self, scores, slopes):
        return self.k * scores * slopes / (slopes**2 + self.eps)
