"""Spectral normalization (Miyato 2018) of every conv, linear and embedding weight of D's score (a variant's auxiliary
heads are no part of it: constraints/base.py).

The power iteration runs when D runs in training mode; the module computes the normalized weights once per D step
and once per G step (torch.nn.utils.parametrize.cached), so `power_iterations` iterations happen per step,
however many times the step evaluates D (real, fake, a penalty's interpolates). Evaluation leaves them alone.
"""
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gan_runner.constraints.base import Constraint, score_modules

_LAYERS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


class SpectralNorm(Constraint):
    reparametrizes_weights = True

    def __init__(self, power_iterations: int = 1):
        if not isinstance(power_iterations, int) or power_iterations < 1:
            raise ValueError(f"power_iterations must be an integer >= 1, got {power_iterations!r}")
        self.power_iterations = power_iterations

    def wrap(self, discriminator: nn.Module) -> nn.Module:
        for module in score_modules(discriminator):
            if isinstance(module, _LAYERS):
                spectral_norm(module, n_power_iterations=self.power_iterations)
        return discriminator
