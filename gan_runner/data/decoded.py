"""An image folder decoded once into a uint8 array on disk, memory-mapped by every job and rank that reads it.

The array is `<cache dir>/<folder>-<size>px-<channels>c-<key>.npy`, the key a hash of the folder's listing
(relative paths, sizes, modification times), the image size, the channels and FORMAT: a changed folder gets a new
file. Jobs map it copy-on-write: the pages are the page cache's, held once however many jobs read them, and a
write (none is made) would stay in the writing process. So a job's own memory does not grow with the folder.
"""
import hashlib
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import torch

from gan_runner import cache
from gan_runner.data.disk import Listing, decode_into

log = logging.getLogger(__name__)

FORMAT = 1  # of the array's layout and decoding: bump it and every older cache is decoded again


def folder_key(listing: Listing, size: int, channels: int) -> str:
    entries = []
    for path in listing.paths:
        stat = os.stat(path)
        entries.append([os.path.relpath(path, listing.root), stat.st_size, stat.st_mtime_ns])
    text = json.dumps({"format": FORMAT, "size": size, "channels": channels, "files": entries})
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _read(shape: tuple[int, ...]):
    def read(path: Path) -> np.ndarray | None:
        try:
            array = np.load(path, mmap_mode="c")
        except (ValueError, OSError):  # truncated or foreign: decoded again
            return None
        return array if array.shape == shape and array.dtype == np.uint8 else None

    return read


def _decode(listing: Listing, shape: tuple[int, ...], path: Path):
    def make(tmp: Path) -> None:
        start = time.perf_counter()
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        decode_into(listing.paths, shape[1], shape[2], out)
        out.flush()
        log.info("decoded %d images of %s in %.1f s into %s", shape[0], listing.root, time.perf_counter() - start,
                 path)

    return make


def decoded_folder(listing: Listing, size: int, channels: int, cache_dir) -> tuple[torch.Tensor, str]:
    """uint8 [N, channels, size, size] of the listed images, memory-mapped from the cache, and the cache key."""
    key = folder_key(listing, size, channels)
    name = f"{Path(listing.root).resolve().name}-{size}px-{channels}c-{key}.npy"
    shape = (len(listing.paths), channels, size, size)
    path = Path(cache_dir).expanduser() / name
    array = cache.once(path, _read(shape), _decode(listing, shape, path))
    return torch.from_numpy(array), key
