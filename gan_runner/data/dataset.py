"""The in-memory training set every source produces: images in [-1, 1] or 2-D points, with optional labels."""
from dataclasses import dataclass

from torch import Tensor


@dataclass
class GanData:
    name: str
    x: Tensor                     # float32; images [N, C, H, W] in [-1, 1], points [N, 2]
    y: Tensor | None = None       # int64 class labels, when the source has them
    num_classes: int = 0
    centers: Tensor | None = None  # mixture means, for toy data (mode metrics)
    std: float = 0.0               # mixture standard deviation, for toy data

    @property
    def kind(self) -> str:
        return "image" if self.x.dim() == 4 else "points"
