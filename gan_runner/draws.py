"""Per-sample random draws (latents, interpolation weights, noise) for one rank's part of a global batch.

Under DDP every rank keeps the same RNG stream (same seed, same draws), draws the values of the whole global batch
and keeps its own rows. So a run on W processes with batch b sees exactly the latents, epsilons and noise of a
one-process run with batch W*b, and resume needs only one RNG state. On one process these are the plain torch calls.
Every draw that has one value per sample goes through here.

In an ensemble's step (`per_member`), a batch of K*n rows holds K members' batches of n, and member k's rows come
from member k's own generator: the values that seed k's run alone draws from torch's stream.
"""
import contextlib

import torch
from torch import Tensor

from gan_runner.distributed import world

_members: list[torch.Generator] | None = None


@contextlib.contextmanager
def per_member(generators: list[torch.Generator]):
    """Inside, every draw of K*n rows takes member k's n rows from generators[k]."""
    global _members
    _members = generators
    try:
        yield
    finally:
        _members = None


def _member_rows(draw, n: int, shape: tuple, kwargs: dict) -> Tensor:
    k = len(_members)
    if n % k:
        raise ValueError(f"a draw of {n} rows cannot be split among {k} ensemble members")
    return torch.cat([draw((n // k, *shape), generator=g, **kwargs) for g in _members])


def _own_rows(draw, n: int, *shape: int, **kwargs) -> Tensor:
    if _members is not None:
        return _member_rows(draw, n, shape, kwargs)
    rank, size = world()  # (0, 1) in rank 0's evaluation too (distributed.alone): a one-process run's draws
    if size == 1:
        return draw((n, *shape), **kwargs)
    return draw((n * size, *shape), **kwargs)[rank * n:(rank + 1) * n]


def normal(n: int, *shape: int, device=None, dtype=None) -> Tensor:
    return _own_rows(torch.randn, n, *shape, device=device, dtype=dtype)


def uniform(n: int, *shape: int, device=None, dtype=None) -> Tensor:
    return _own_rows(torch.rand, n, *shape, device=device, dtype=dtype)


def latent(prior: str, n: int, dim: int, device=None) -> Tensor:
    """n latents of `dim` numbers: N(0, I) (prior normal) or U(-1, 1) per coordinate (prior uniform)."""
    if prior == "uniform":
        return uniform(n, dim, device=device) * 2 - 1
    return normal(n, dim, device=device)


def integers(high: int, n: int, *shape: int, device=None) -> Tensor:
    return _own_rows(lambda size, **kw: torch.randint(high, size, **kw), n, *shape, device=device)


def normal_like(x: Tensor) -> Tensor:
    return normal(x.shape[0], *x.shape[1:], device=x.device, dtype=x.dtype)


def uniform_like(x: Tensor) -> Tensor:
    return uniform(x.shape[0], *x.shape[1:], device=x.device, dtype=x.dtype)
