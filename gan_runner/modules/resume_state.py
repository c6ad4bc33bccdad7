"""What the module adds to Lightning's checkpoint so that a resumed run continues exactly as a straight one.

Lightning saves the weights, the optimizers and its loops, but neither the RNG states nor the position in the batch
stream (DESIGN.md pitfall 13). The module saves its iteration (batches are indexed by it, data/stream.py) and every
RNG state (rng.py) under the checkpoint's `gan_runner` key, which checkpoint.py reads to vet and resume a run, and
puts the RNG states back when training starts.
"""
import torch
from lightning.fabric.utilities.seed import reset_seed

from gan_runner import rng


def save(checkpoint: dict, iteration: int, device: torch.device) -> None:
    checkpoint["gan_runner"] = {"iteration": iteration, "rng": rng.capture(device)}


def load(checkpoint: dict) -> tuple[int, dict]:
    """The checkpoint's iteration and RNG states (put back by `start_streams`)."""
    state = checkpoint["gan_runner"]
    # The last iteration of a shorter run is mid-epoch for a longer one: the batch stream, not Lightning's memory of
    # where the old stream ended, decides when training stops.
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress")
    if progress is not None:
        progress["is_last_batch"] = False
    return int(state["iteration"]), state["rng"]


def start_streams(saved: dict | None, device: torch.device) -> None:
    """At the start of training: the RNG states of the checkpoint resumed from, if any. Otherwise training's streams
    start from the run's seed, after the nets' initialization drew from it: the ranks of a DDP run (which Lightning
    reseeds when it starts them) and a one-process run draw the same values."""
    if saved is not None:
        rng.restore(saved, device)
    else:
        reset_seed()
