"""One process works in a run's folder at a time: the folder is claimed before anything is written into it.

The claim is an exclusive flock on <run dir>/.lock. The kernel drops it when the process ends, killed or not, so a
crash never leaves the folder locked; the holder writes its pid and host into the file, for the refusal's message.
A single run claims its folder as Hydra starts it (ClaimRunDir), before Hydra writes .hydra/ and the log there; a
sweep job, whose folder Hydra makes inside the job, claims it when run.py starts. A DDP run's other ranks work in
their rank 0's folder under its claim.
"""
import fcntl
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from gan_runner.errors import FolderRefused

LOCK_FILE = ".lock"

_held: dict[Path, IO] = {}  # folders this process holds, and their open lock files


def acquire(out: Path) -> bool:
    """Hold `out` (False when this process holds it already); FolderRefused, at once, when another process does."""
    out = out.resolve()
    if out in _held:
        return False
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / LOCK_FILE, "a+")  # noqa: SIM115 - held open until release()
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise FolderRefused(f"{out} is in use by {holder}, which is training or evaluating there right now: wait "
                            "for it, stop it, or choose another hydra.run.dir") from None
    lock.truncate(0)
    lock.write(f"process {os.getpid()} on {socket.gethostname()}")
    lock.flush()
    _held[out] = lock
    return True


def release(out: Path) -> None:
    lock = _held.pop(out.resolve(), None)
    if lock is not None:
        lock.close()  # closing the file drops the flock


@contextmanager
def claim(out: Path) -> Iterator[None]:
    """`out` held for the block: claimed here, or already by this process (then it stays held after the block)."""
    claimed = acquire(out)
    try:
        yield
    finally:
        if claimed:
            release(out)


class ClaimRunDir(Callback):
    """A Hydra callback (config.yaml's hydra.callbacks): a single run claims hydra.run.dir before Hydra writes its
    .hydra/ files and log there, so that a refused run leaves the other run's folder as it found it."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        HydraConfig.instance().set_config(config)  # hydra.run.dir may refer to ${hydra:...}, as Hydra resolves it
        try:
            acquire(Path(str(config.hydra.run.dir)))
        except FolderRefused as exc:
            print(f"gan-runner: error: {exc}", file=sys.stderr)  # Hydra would print a traceback
            sys.exit(2)

    def on_run_end(self, config: DictConfig, **kwargs) -> None:
        release(Path(str(config.hydra.run.dir)))
