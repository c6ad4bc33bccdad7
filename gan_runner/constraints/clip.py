"""WGAN weight clipping (Arjovsky 2017): clamp every parameter of D's score to [-c, c] after each D step (a
variant's auxiliary heads are no part of the score: constraints/base.py)."""
import torch
from torch import nn

from gan_runner.constraints.base import Constraint, score_parameters


class WeightClip(Constraint):
    def __init__(self, c: float = 0.01):
        if c <= 0:
            raise ValueError(f"constraint.clip.c must be positive, got {c}")
        self.c = c

    @torch.no_grad()
    def after_d_step(self, discriminator: nn.Module) -> None:
        for p in score_parameters(discriminator):
            p.clamp_(-self.c, self.c)
