"""f-GAN divergences (Nowozin, Cseke & Tomioka 2016): output activation g and conjugate f*, by name.

The critic's raw score v becomes T = g(v); g maps R into dom f*, and every g is increasing so that a larger v
still means "more real" (the paper's rule for its Table 6). f*(g(v)) is written out in closed form because
composing the two naively overflows or cancels (hellinger's T/(1-T) at T = 1 - exp(-v) divides by zero for large v).
"""
import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

LOG2 = math.log(2.0)


class Divergence(NamedTuple):
    activation: Callable[[Tensor], Tensor]  # v -> g(v)
    conjugate: Callable[[Tensor], Tensor]  # v -> f*(g(v))


DIVERGENCES = {
    # f*(t) = exp(t - 1)
    "kl": Divergence(lambda v: v, lambda v: torch.exp(v - 1.0)),
    # f*(t) = -1 - log(-t) at t = -exp(-v)
    "reverse_kl": Divergence(lambda v: -torch.exp(-v), lambda v: v - 1.0),
    # f*(t) = t^2/4 + t
    "pearson": Divergence(lambda v: v, lambda v: 0.25 * v**2 + v),
    # f*(t) = 2 - 2 sqrt(1 - t) at t = 1 - exp(-v); the paper prints 1 - exp(v), which decreases (see module doc)
    "neyman": Divergence(lambda v: -torch.expm1(-v), lambda v: 2.0 - 2.0 * torch.exp(-0.5 * v)),
    # f*(t) = t / (1 - t) at t = 1 - exp(-v)
    "hellinger": Divergence(lambda v: -torch.expm1(-v), torch.expm1),
    # f*(t) = -log(2 - exp(t)) at t = log 2 - softplus(-v)
    "js": Divergence(lambda v: LOG2 - F.softplus(-v), lambda v: F.softplus(v) - LOG2),
    # f*(t) = -log(1 - exp(t)) at t = -softplus(-v): the GAN discriminator's cross-entropy
    "gan": Divergence(lambda v: -F.softplus(-v), F.softplus),
    # f*(t) = t on |t| <= 1/2
    "tv": Divergence(lambda v: 0.5 * torch.tanh(v), lambda v: 0.5 * torch.tanh(v)),
}


def divergence(name: str) -> Divergence:
    if name not in DIVERGENCES:
        raise ValueError(f"loss.divergence={name!r}: choose one of {', '.join(DIVERGENCES)}")
    return DIVERGENCES[name]
