"""R2 (Mescheder, Geiger & Nowozin 2018): R1's penalty, taken on generated samples instead of real ones."""
from torch import Tensor

from gan_runner.constraints.base import Critic
from gan_runner.constraints.penalties import R1


class R2(R1):
    """(gamma / 2) E[||grad D(x~)||^2] on fake data."""

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        return super().penalty(critic, real=fake, fake=real)
