"""What one D or G step plays with (modules/gan.py): the real and generated sides of D's comparison."""
from dataclasses import dataclass

from torch import Tensor


@dataclass
class Side:
    """One side of D's comparison: samples, the labels they carry (None when unconditional), what D made of them."""

    x: Tensor
    y: Tensor | None
    score: Tensor | None = None
    features: Tensor | None = None  # D's trunk features of x, from the pass that gave `score` (see uses_features)


@dataclass
class Batch:
    """What one D or G step plays with: real and generated samples, and G's latent input."""

    real: Side
    fake: Side
    z: Tensor
