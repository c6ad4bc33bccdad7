"""Capture and restore every random number generator, as plain containers that load with weights_only=True.

Lightning's checkpoints hold neither RNG state (DESIGN.md pitfall 13); without them a resumed run draws other
latents and penalty interpolates than a straight run. The CUDA state is that of the device the module trains on:
under DDP each rank has its own device, and all ranks hold the same streams (see draws.py), so rank 0's checkpoint
restores every rank.
"""
import random

import numpy as np
import torch


def capture(device: torch.device) -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, py_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": list(py_state), "gauss_next": gauss_next},
    }


def restore(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))
