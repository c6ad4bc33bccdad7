"""What one process of a multi-process run needs to know and do: its rank, and averaging gradients by hand.

GANs step one player at a time, so DistributedDataParallel's all-parameters-in-every-backward rule does not fit
them (DESIGN.md pitfall 15); like NVlabs' StyleGAN2-ADA, the module all-reduces the stepping player's gradients
itself after each backward.

Every collective of the runner goes through `answered`: one that waits longer than trainer.ddp_timeout_s for the
other ranks, or whose peer is gone, ends the run with a one-line `RankLost` instead of a hang or a traceback.
"""
import contextlib
import os
import re
from contextvars import ContextVar
from datetime import timedelta

import torch
import torch.distributed as dist

from gan_runner.errors import UserError

# Lightning's order (lightning.fabric.utilities.rank_zero): LOCAL_RANK is checked before SLURM_PROCID because the
# latter can be set in an allocation that SLURM does not split into tasks.
_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


_ALONE: ContextVar[bool] = ContextVar("alone", default=False)
_timeout_s: float | None = None  # trainer.ddp_timeout_s of this process's group, for the message


class RankLost(UserError):
    """A collective failed: the other ranks did not answer within trainer.ddp_timeout_s, or one of them ended."""


def set_timeout(seconds: float) -> None:
    """How long each collective of the process group waits for the other ranks (gloo then raises; NCCL's watchdog
    ends the process)."""
    global _timeout_s
    dist.set_timeout(timedelta(seconds=seconds))
    _timeout_s = seconds


@contextlib.contextmanager
def answered():
    """Run a collective; its failure becomes one line that says what to do."""
    try:
        yield
    except RuntimeError as exc:  # gloo: "Timed out waiting ...", "Connection closed by peer ...", "... pair closure"
        rank, size = world()
        # gloo's first sentence, without the source location it starts with
        cause = re.sub(r"^\[[^\]]*\]\s*", "", str(exc).strip().split("\n")[0]).split(". ")[0]
        limit = f"trainer.ddp_timeout_s={_timeout_s:g}" if _timeout_s is not None else "trainer.ddp_timeout_s"
        evaluating = ", or rank 0 evaluated for longer than that: raise trainer.ddp_timeout_s" if rank else ""
        raise RankLost(f"rank {rank} of {size}: the other ranks did not answer ({cause}; {limit}): one of them is "
                       f"stuck or ended, see its output{evaluating}") from None


@contextlib.contextmanager
def alone():
    """This process by itself, as if it were the only one: rank 0's evaluation while the other ranks train. Every
    draw (draws.py) and every collective here then acts as on one process, so an evaluation never waits for ranks
    that are elsewhere."""
    token = _ALONE.set(True)
    try:
        yield
    finally:
        _ALONE.reset(token)


def world() -> tuple[int, int]:
    """(rank, world size) of the process group; (0, 1) outside one, and inside `alone`."""
    if not _ALONE.get() and dist.is_available() and dist.is_initialized():
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
    with answered():
        dist.all_reduce(flat)
    flat /= size
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


def broadcast_from_main(tensor: torch.Tensor) -> None:
    """Rank 0's values of `tensor`, in place, on every rank (e.g. a variant's state drawn once at the start)."""
    if world()[1] == 1:
        return
    with answered():
        dist.broadcast(tensor, src=0)


class _MeanOverRanks(torch.autograd.Function):
    """The mean of a tensor over the ranks. The map is linear and symmetric, so its backward is the same mean of the
    incoming gradients (itself differentiable, for double backward)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone(memory_format=torch.contiguous_format)
        with answered():
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
    with answered():
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())
