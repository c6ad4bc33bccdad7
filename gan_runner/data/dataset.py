"""The training set every source produces: images or 2-D points, with optional labels.

Images are either float32 in [-1, 1] (the small embedded sets) or uint8 pixels (decoded disk sets, memory-mapped
from the decode cache), converted batch by batch: a job never holds a float copy of a large set.
"""
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class GanData:
    name: str
    x: Tensor                     # images [N, C, H, W] (float32 in [-1, 1], or uint8 pixels), or points [N, 2]
    y: Tensor | None = None       # int64 class labels, when the source has them
    num_classes: int = 0
    centers: Tensor | None = None  # mixture means, for toy data (mode metrics)
    std: float = 0.0               # mixture standard deviation, for toy data
    content_id: str | None = None  # a hash of the source's contents when it has one (a folder's decode cache key)

    @property
    def kind(self) -> str:
        return "image" if self.x.dim() == 4 else "points"

    def __len__(self) -> int:
        return len(self.x)

    def samples(self, index: Tensor) -> Tensor:
        """The samples at `index` (any shape of indices), as float32; images in [-1, 1]."""
        x = self.x[index]
        return to_unit_range(x) if x.dtype == torch.uint8 else x

    def reference_index(self, n: int) -> Tensor:
        """The first n of a fixed permutation of the training set: the same reference images for every run."""
        return torch.randperm(len(self), generator=torch.Generator().manual_seed(0))[:n]

    def labels(self, index: Tensor) -> Tensor:
        """Their labels, -1 where the data has none."""
        return self.y[index] if self.y is not None else torch.full(index.shape, -1, dtype=torch.long)


def to_unit_range(images_uint8: Tensor) -> Tensor:
    """uint8 pixels [0, 255] as float32 in [-1, 1]."""
    return images_uint8.to(torch.float32) / 127.5 - 1
