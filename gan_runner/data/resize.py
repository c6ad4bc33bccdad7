"""Bring float images in [-1, 1] to the resolution the model asks for."""
import torch.nn.functional as F
from torch import Tensor


def resize_to(x: Tensor, size: int) -> Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    shrink = size < x.shape[-1]
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=shrink, align_corners=False).clamp(-1, 1)
