"""Constraints and regularizers on D; each is one class, chosen in config by `_target_`."""
from gan_runner.constraints.base import Constraint, Constraints, input_gradients
from gan_runner.constraints.clip import WeightClip
from gan_runner.constraints.penalties import R1, GradientPenalty
from gan_runner.constraints.spectral import SpectralNorm

__all__ = ["Constraint", "Constraints", "GradientPenalty", "R1", "SpectralNorm", "WeightClip", "input_gradients"]
