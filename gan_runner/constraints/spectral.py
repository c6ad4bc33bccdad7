"""Spectral normalization (Miyato 2018) of every conv and linear weight of D, one power iteration per step."""
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gan_runner.constraints.base import Constraint

_LAYERS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


class SpectralNorm(Constraint):
    def __init__(self, power_iterations: int = 1):
        self.power_iterations = power_iterations

    def wrap(self, discriminator: nn.Module) -> nn.Module:
        for module in list(discriminator.modules()):
            if isinstance(module, _LAYERS):
                spectral_norm(module, n_power_iterations=self.power_iterations)
        return discriminator
