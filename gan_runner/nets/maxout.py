"""Maxout layers (Goodfellow et al. 2013) and the maxout MLP discriminator of PacGAN's and ALI's toy experiments
(Lin et al. 2018, code fjxmlzn/PacGAN: 3 maxout layers of 200 units with 5 pieces, then a linear score)."""
import math

from torch import Tensor, nn

from gan_runner.checks import positive
from gan_runner.nets.critic import Discriminator


class Maxout(nn.Module):
    """y_j = max_p (W x + b)_(j, p): a linear layer to `width` x `pieces` units, the maximum over each unit's
    pieces (pieces innermost, as Blocks' LinearMaxout)."""

    def __init__(self, n_in: int, width: int, pieces: int):
        super().__init__()
        self.width, self.pieces = width, pieces
        self.linear = nn.Linear(n_in, width * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (self.width, self.pieces)).amax(-1)


class MaxoutDiscriminator(Discriminator):
    flat_input = True

    def __init__(self, shape: list[int], width: int = 200, depth: int = 3, pieces: int = 5):
        sizes = [math.prod(shape)] + [width] * depth
        trunk = nn.Sequential(nn.Flatten(), *(Maxout(a, b, pieces) for a, b in zip(sizes[:-1], sizes[1:])))
        super().__init__(trunk, width)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        positive(args, "width", "depth", "pieces")
