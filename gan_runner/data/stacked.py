"""Stacked MNIST (Metz et al. 2017; PacGAN Table 2, VEEGAN Table 2): three digits as the three channels of one
28 px image, 1,000 modes (the triple of the digits' classes).

Built from mnist5k: each stack is three independent uniform draws of its 5,000 digits, `n` stacks from a generator
seeded by `seed` (the authors draw 128,000 stacks from MNIST's digits). 5,000^3 = 1.25e11 distinct stacks exist, so
128,000 stacks repeat one with probability about n^2 / (2 * 5,000^3) = 0.066. A stack is a triple of indices; its
channels are gathered batch by batch, never held as a copy. Training is unconditional (no labels); `modes(index)`
gives the mode of each stack, 100 a + 10 b + c for the classes a, b, c of channels 0, 1, 2.
"""
import torch
from torch import Tensor

from gan_runner.checks import checked_by, positive
from gan_runner.data.checks import check_size
from gan_runner.data.dataset import GanData
from gan_runner.data.embedded import mnist5k


class StackedDigits(GanData):
    def __init__(self, digits: GanData, triples: Tensor):
        super().__init__("stacked_mnist", digits.x)
        self.digits, self.triples = digits, triples

    def __len__(self) -> int:
        return len(self.triples)

    def samples(self, index: Tensor) -> Tensor:
        stacked = self.digits.samples(self.triples[index])  # [..., 3, 1, H, W]
        return stacked.squeeze(-3)

    def modes(self, index: Tensor) -> Tensor:
        a, b, c = self.digits.y[self.triples[index]].unbind(-1)
        return 100 * a + 10 * b + c


def _check(args: dict, cfg) -> None:
    positive(args, "n")
    check_size(args.get("n", 128_000), cfg, "stacks of data=stacked_mnist")


@checked_by(_check)
def stacked_mnist(n: int = 128_000, seed: int = 0) -> StackedDigits:
    digits = mnist5k()
    triples = torch.randint(len(digits), (n, 3), generator=torch.Generator().manual_seed(seed))
    return StackedDigits(digits, triples)
