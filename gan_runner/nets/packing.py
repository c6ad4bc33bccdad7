"""Packing (PacGAN, Lin, Khetan, Fanti & Oh 2018): D judges m samples at once, so that a G that collapses, whose
samples look alike within a pack, is told apart from the data, whose packs vary.

A pack is m consecutive rows of a batch (independent draws: the batch is a slice of a shuffled epoch, and G's rows
have independent latents), joined as D's input: the features of a net that flattens its input (the MLP: 2m
numbers for 2-D points) or the channels of an image net (m*C channels). The model's D is built for that input;
D then returns one score per pack. In training G makes each pack slot's samples in a call of their own (rows j, j+m,
...: slot j), as the authors' code runs G once per slot, so that G's BatchNorm normalizes each slot's B/m samples.
Penalties (which the authors' code has none of) take per-pack gradients, the runner's choice: a pack is one point of
the joined input space (its interpolates share one epsilon, its gradient norm is that of the joined input).
"""
import math

import torch
from torch import Tensor


def packed_shape(shape: list[int], m: int, flat: bool) -> list[int]:
    """D's input shape for packs of m samples of `shape`."""
    return [m * math.prod(shape)] if flat else [m * shape[0], *shape[1:]]


def join(x: Tensor, m: int) -> Tensor:
    """[B, C, ...] samples -> [B/m, m*C, ...] packs, the input of a packed D (a flat net flattens it further)."""
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def per_slot(generate, z: Tensor, m: int) -> Tensor:
    """G's samples for latents z, slot by slot (slot j: rows j, j+m, ...), put back in z's order."""
    if m == 1:
        return generate(z)
    slots = [generate(z[j::m]) for j in range(m)]
    return torch.stack(slots, 1).reshape(len(z), *slots[0].shape[1:])


def penalty_points(critic, real: Tensor, fake: Tensor, m: int) -> tuple:
    """(critic, real, fake) as a penalty sees them: unchanged for m = 1; packed, [B/m, m, ...] packs and the critic
    of such packs, so that a pack is one point (one epsilon, the gradient norm of its joined input)."""
    if m == 1:
        return critic, real, fake
    return (lambda packs: critic(packs.reshape(-1, *packs.shape[2:])), *(x.reshape(x.shape[0] // m, m, *x.shape[1:])
                                                                          for x in (real, fake)))
