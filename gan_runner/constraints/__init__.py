"""Constraints and regularizers on D; each is one class, chosen in config by `_target_`."""
from gan_runner.constraints.base import Constraint, Constraints, input_gradients, score_modules, score_parameters
from gan_runner.constraints.clip import WeightClip
from gan_runner.constraints.dragan import DRAGAN
from gan_runner.constraints.gradnorm import GradientNormalization, GraN
from gan_runner.constraints.lp import LipschitzPenalty
from gan_runner.constraints.noise import InstanceNoise
from gan_runner.constraints.penalties import R1, GradientPenalty
from gan_runner.constraints.r2 import R2
from gan_runner.constraints.spectral import SpectralNorm
from gan_runner.constraints.wgan_div import WGANDiv

__all__ = ["DRAGAN", "Constraint", "Constraints", "GradientNormalization", "GradientPenalty", "GraN",
           "InstanceNoise", "LipschitzPenalty", "R1", "R2", "SpectralNorm", "WGANDiv", "WeightClip",
           "input_gradients", "score_modules", "score_parameters"]
