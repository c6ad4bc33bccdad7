"""The real side of the image metrics in one feature space: computed batch by batch from the data, cached.

- `sample_reference`: the features of the first n of a fixed permutation of the training set, the same n for every
  run (FID, KID and PRDC compare with them);
- `train_set_reference`: only the sums FID needs (of the features, and of their outer products, in float64) over the
  whole training set: the literature's protocol, as clean-fid and torch-fidelity compute it.
Both are cached in `<cache_dir>/reference/`, keyed by the data's fingerprint and a hash of the extractor's weights,
so the jobs of a sweep compute them once.
"""
import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gan_runner import cache
from gan_runner.data.dataset import GanData
from gan_runner.metrics.extractor import fingerprint, weights_id

log = logging.getLogger(__name__)

BATCH = 250
FORMAT = 1  # of the cached files: bump it and every older one is computed again


@dataclass
class Reference:
    features_sum: torch.Tensor           # float64 [d]
    outer_sum: torch.Tensor              # float64 [d, d]: the sum of x x^T, as torchmetrics' FID keeps it
    n: int
    features: torch.Tensor | None        # [n, d] of a sample; None for the whole set's statistics
    description: str


@torch.no_grad()
def _features(data: GanData, index: torch.Tensor, extractor: nn.Module, device) -> Iterator[torch.Tensor]:
    for idx in index.split(BATCH):
        yield extractor.features_and_logits(data.samples(idx).to(device))[0].cpu()


def moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum and sum of outer products in float64, exactly as torchmetrics' FID accumulates them."""
    x = features.double()
    return x.sum(dim=0), x.t().mm(x)


def _cached(data: GanData, extractor: nn.Module, n: str, cache_dir, compute) -> dict:
    # The file is named by its key: other data, another feature space or FORMAT is another file.
    key = f"{FORMAT} {fingerprint(data)} {weights_id(extractor)} {n}"
    name = f"{data.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}-{n}.pt"

    def read(path: Path) -> dict | None:
        try:
            found = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # truncated or foreign: computed again
            return None
        return found if isinstance(found, dict) and found.get("key") == key else None

    def make(tmp: Path) -> None:
        start = time.perf_counter()
        torch.save({"key": key, **compute()}, tmp)  # the key inside says what the file holds
        log.info("reference features of %s (%s images) computed in %.1f s", data.name, n, time.perf_counter() - start)

    return cache.once(Path(cache_dir).expanduser() / "reference" / name, read, make)


def sample_reference(data: GanData, n: int, extractor: nn.Module, cache_dir, device="cpu") -> Reference:
    index = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:n]

    def compute() -> dict:
        return {"features": torch.cat(list(_features(data, index, extractor, device)))}

    features = _cached(data, extractor, str(n), cache_dir, compute)["features"]
    return Reference(*moments(features), n, features, "first n of a fixed permutation of the training images")


def train_set_reference(data: GanData, extractor: nn.Module, cache_dir, device="cpu") -> Reference:
    def compute() -> dict:
        total, outer = None, None
        for batch in _features(data, torch.arange(len(data)), extractor, device):
            s, o = moments(batch)
            total, outer = (s, o) if total is None else (total + s, outer + o)
        return {"features_sum": total, "outer_sum": outer}

    stats = _cached(data, extractor, "all", cache_dir, compute)
    return Reference(stats["features_sum"], stats["outer_sum"], len(data), None,
                     "statistics of the whole training set")
