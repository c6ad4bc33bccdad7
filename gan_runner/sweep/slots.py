"""One job per GPU: each job claims a free GPU slot, a file lock under the sweep dir, before it touches CUDA.

Neither joblib nor submitit_local gives each job its own GPU (DESIGN.md pitfall 1), so the jobs share them out
among themselves. joblib reuses its worker processes, and CUDA reads CUDA_VISIBLE_DEVICES once per process: a
worker whose CUDA is already up waits for the slot it had before instead of taking another one.
"""
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

SLOTS_ENV = "GAN_RUNNER_GPU_SLOTS"  # set for each job by hydra/launcher=gpus
POLL_S = 0.2

_cuda_slot: int | None = None  # the slot whose GPU this process's CUDA was started on


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: CUDA_VISIBLE_DEVICES when set, else every GPU nvidia-smi lists."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [d.strip() for d in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(line for line in listing.splitlines() if line.startswith("GPU "))]


def _cuda_started() -> bool:
    torch = sys.modules.get("torch")  # never import torch here: the slot must be chosen first
    return torch is not None and torch.cuda.is_initialized()


def _acquire(lock_dir: Path, candidates: list[int]) -> tuple[int, FileLock]:
    while True:
        for slot in candidates:
            lock = FileLock(lock_dir / f"slot{slot}.lock")
            try:
                lock.acquire(blocking=False)
                return slot, lock
            except Timeout:
                continue
        time.sleep(POLL_S)


@contextmanager
def gpu_slot(lock_dir: Path, n_slots: int, record: dict):
    """Hold one of `n_slots` slots and show this job only its GPU; `record` gets the slot, device and times.

    Slots are spread round-robin over the visible GPUs (more slots than GPUs share them). Where no GPU is visible
    the slots are simulated (device None) and CUDA_VISIBLE_DEVICES is left as it is: naming a device there could
    un-hide a GPU that the user hid.
    """
    global _cuda_slot
    devices = visible_gpus()
    lock_dir.mkdir(parents=True, exist_ok=True)
    candidates = [_cuda_slot] if _cuda_started() and _cuda_slot is not None else list(range(n_slots))
    slot, lock = _acquire(lock_dir, candidates)
    record.update(slot=slot, device=devices[slot % len(devices)] if devices else None, claimed_at=time.time())
    parent_devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    if record["device"] is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = record["device"]
    try:
        yield slot
    finally:
        if _cuda_started():
            _cuda_slot = slot
            sys.modules["torch"].cuda.empty_cache()  # the next job of this worker starts from a clean cache
        # restored so that the next job of this worker sees the same GPUs as the launcher did
        if parent_devices is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = parent_devices
        record["released_at"] = time.time()  # taken before the release: held intervals never touch
        lock.release()
