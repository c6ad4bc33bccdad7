"""DRAGAN (Kodali, Abernethy, Hays & Kira 2017): a gradient penalty in a noisy neighbourhood of the real data.

Mode collapse shows up as sharp gradients of D around real points, so the penalty is taken near real x only;
generated samples play no part. Two forms of "near":
- `paper` (default): x + delta, delta ~ N(0, c I), as in the paper's objective (arXiv:1705.07215, eq. 4; the
  authors report c ~ 10 and advise scaling c to the data's range).
- `code`: x + alpha (x_p - x), x_p = x + 0.5 std(x) U[0, 1) elementwise, alpha ~ U[0, 1] per sample, as in the
  authors' released code (kodalinaveen3/DRAGAN) and most ports; std is one number over the whole batch.
"""
import math

from torch import Tensor

from gan_runner import draws
from gan_runner.constraints.base import Constraint, Critic, input_gradients
from gan_runner.constraints.penalties import per_sample_uniform

MODES = ("paper", "code")


class DRAGAN(Constraint):
    """weight * E[(||grad D(x_near)|| - 1)^2] at points x_near drawn near the real samples."""

    per_sample_gradients = True

    def __init__(self, weight: float = 10.0, mode: str = "paper", c: float = 10.0):
        if weight < 0 or c <= 0 or mode not in MODES:
            raise ValueError(f"constraint.dragan needs weight >= 0, c > 0 and mode in {MODES}, got weight={weight}, "
                             f"c={c}, mode={mode!r}")
        self.weight, self.mode, self.c = weight, mode, c

    def near(self, real: Tensor) -> Tensor:
        real = real.detach()
        if self.mode == "paper":
            return real + math.sqrt(self.c) * draws.normal_like(real)
        # One std over every element of the batch, as in the authors' code (per feature it would vanish on constant
        # pixels such as MNIST's background); the population std, so that a batch of one gives 0, not NaN.
        perturbed = real + 0.5 * real.std(correction=0) * draws.uniform_like(real)
        return real + per_sample_uniform(real) * (perturbed - real)

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        _, grad = input_gradients(critic, self.near(real))
        return self.weight * ((grad.norm(dim=1) - 1.0) ** 2).mean()
