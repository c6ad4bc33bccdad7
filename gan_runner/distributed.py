"""What one process of a multi-process run needs to know and do: its rank, and averaging gradients by hand.

GANs step one player at a time, so DistributedDataParallel's all-parameters-in-every-backward rule does not fit
them (DESIGN.md pitfall 15); like NVlabs' StyleGAN2-ADA, the module all-reduces the stepping player's gradients
itself after each backward.
"""
import os

import torch
import torch.distributed as dist

# Lightning's order (lightning.fabric.utilities.rank_zero): LOCAL_RANK is checked before SLURM_PROCID because the
# latter can be set in an allocation that SLURM does not split into tasks.
_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


def world() -> tuple[int, int]:
    """(rank, world size) of the process group; (0, 1) outside one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """Whether this process is global rank 0, from the environment a launcher sets (usable before the process group
    exists): only rank 0 writes a run's files."""
    if os.environ.get("NODE_RANK", "0") != "0":
        return False
    return next((os.environ[k] == "0" for k in _RANK_VARIABLES if k in os.environ), True)


def average_gradients(params: list[torch.Tensor]) -> None:
    """Replace each gradient by its mean over the ranks: one all-reduce of all of them, flattened."""
    average([p.grad for p in params if p.grad is not None])


def average(tensors: list[torch.Tensor]) -> None:
    """Replace each tensor, in place, by its mean over the ranks: one all-reduce of all of them, flattened."""
    _, size = world()
    if size == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= size
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


class _MeanOverRanks(torch.autograd.Function):
    """The mean of a tensor over the ranks. The map is linear and symmetric, so its backward is the same mean of the
    incoming gradients (itself differentiable, for double backward)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(total)
        return total / world()[1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _MeanOverRanks.apply(grad)


def mean_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of `tensor` (e.g. a batch mean) over the ranks, differentiably, so that a function of it is the
    global batch's. As for a plain mean over a rank's rows, each rank's gradient is then the ranks' number times its
    rows' share of the global batch's gradient, and `average_gradients` gives the one-process gradient exactly.
    Every rank must call it at the same point of its step (one all-reduce forward, one in backward)."""
    return tensor if world()[1] == 1 else _MeanOverRanks.apply(tensor)


def all_ranks(flag: bool, device: torch.device) -> bool:
    """True when `flag` holds on every rank: a decision to stop must be the same everywhere, or the others hang."""
    _, size = world()
    if size == 1:
        return flag
    value = torch.tensor(float(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())
