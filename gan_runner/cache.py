"""Files computed once and shared by every job and rank on this machine: decoded image folders, reference feature
statistics, the LeNet feature space.

`once` makes a file under a lock beside it, into a temporary name that is renamed into place when complete: a
reader sees the whole file or none, and jobs started together compute it once (the others wait, then read it).
"""
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

from gan_runner.errors import UserError

T = TypeVar("T")


def once(path: Path, read: Callable[[Path], T | None], make: Callable[[Path], None]) -> T:
    """`read(path)` when it gives a value (None: missing, stale or unreadable), else `make(tmp)` writes the file
    and it is read. `make` gets a temporary path with the same suffix (numpy and torch keep it)."""
    found = read(path) if path.exists() else None
    if found is not None:
        return found
    lock = _held_lock(path)
    try:
        found = read(path) if path.exists() else None  # made by another job while this one waited
        if found is not None:
            return found
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")
        try:
            make(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        lock.release()
    made = read(path)
    if made is None:
        raise RuntimeError(f"{path} was just written but cannot be read back")
    return made


def _held_lock(path: Path) -> FileLock:
    """The lock beside `path`, acquired; a one-line UserError, before anything is computed, when the cache folder
    cannot be written (a read-only or foreign GAN_RUNNER_CACHE)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(f"{path}.lock")
        lock.acquire()
    except OSError as exc:
        reason = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
        raise UserError(f"cache folder {path.parent} cannot be written ({reason}): set GAN_RUNNER_CACHE (or "
                        "metrics.cache_dir) to a folder you can write, or make this one writable") from None
    return lock
