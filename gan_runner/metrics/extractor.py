"""Feature spaces for the image metrics.

LeNet: a small classifier trained once on the real training images and cached ("FID in LeNet space"); it needs
no download and suits small grey images that Inception was never trained on. Inception: the standard FID network,
loaded only from a local file because offline machines and firewalled clusters cannot download it.
"""
import hashlib
import logging
import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_runner.errors import UserError

log = logging.getLogger(__name__)

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
VERSION = 1  # of LeNetFeatures and its training: bump it and every older cache is retrained
HELDOUT_FRACTION = 0.1
BATCH_SIZE = 128
MIN_EPOCHS = 5
MIN_STEPS = 500  # small sets (sklearn's 1,797 digits) need more passes than MNIST to converge
FINGERPRINT_PIXELS = 512


class LeNetFeatures(nn.Module):
    """Three conv blocks and a `feature_dim` penultimate layer; adaptive pooling makes any size from 8 to 64 work.

    Max rather than average pooling at the end: about 98% vs 96% held-out accuracy on mnist5k, same training.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, feature_dim: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(3),
            nn.Flatten(), nn.Linear(64 * 9, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)
        self.num_features = feature_dim  # torchmetrics reads it instead of probing the net with a dummy image
        # KID's kernel (x.y / d + 1)^3 assumes features of order 1, as Inception's are: set after training so that
        # the features of the training images have unit RMS. Without it KID of real vs real digits read 13 +- 21
        # instead of 0.005 +- 0.007; PRDC is scale-free and FID only changes units.
        self.register_buffer("feature_scale", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) * self.feature_scale

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both outputs from one pass: the image metrics need features (FID, KID, PRDC) and logits (IS)."""
        hidden = self.body(x)
        return hidden * self.feature_scale, self.head(hidden)


def fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    """Shape plus a hash of a few hundred evenly spaced pixels and of the labels: cheap, and catches a stale cache."""
    flat = images.reshape(-1)
    picks = torch.linspace(0, flat.numel() - 1, FINGERPRINT_PIXELS).long()
    digest = hashlib.sha256(flat[picks].float().cpu().numpy().tobytes())
    digest.update(labels.long().cpu().numpy().tobytes())
    return f"{'x'.join(map(str, images.shape))}:{digest.hexdigest()[:16]}"


def _train(images, labels, num_classes: int, seed: int) -> tuple[LeNetFeatures, dict]:
    """Adam on 90% of the images; accuracy on the other 10% (a fixed split) says how good the feature space is."""
    n = len(images)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_heldout = max(1, round(n * HELDOUT_FRACTION))
    held, train = perm[:n_heldout], perm[n_heldout:]
    steps_per_epoch = math.ceil(len(train) / BATCH_SIZE)
    epochs = max(MIN_EPOCHS, math.ceil(MIN_STEPS / steps_per_epoch))

    # Own seed and shuffling generator inside fork_rng: training the extractor must not move the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LeNetFeatures(images.shape[1], num_classes)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        # One cycle (warm-up, then annealing): the best accuracy we found for a short, fixed budget.
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * steps_per_epoch)
        shuffle = torch.Generator().manual_seed(seed + 1)
        for _ in range(epochs):
            for idx in train[torch.randperm(len(train), generator=shuffle)].split(BATCH_SIZE):
                loss = F.cross_entropy(model.logits(images[idx]), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    model.eval()
    with torch.no_grad():
        hidden = torch.cat([model.body(images[i]) for i in train.split(1000)])
        model.feature_scale.fill_(hidden.square().mean().rsqrt())
        correct = sum((model.logits(images[i]).argmax(1) == labels[i]).sum().item() for i in held.split(1000))
    return model, {"heldout_accuracy": correct / n_heldout, "n_train": len(train), "n_heldout": n_heldout}


def _read_cache(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file is a cache miss, not a reason to stop the run
        log.warning("unreadable extractor cache %s (%s): retraining", path, exc)
        return None


def _train_and_cache(images, labels, path: Path, key: dict, dataset_id: str, seed: int):
    threads = torch.get_num_threads()
    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    start = time.perf_counter()
    try:
        model, stats = _train(images.float().cpu(), labels.cpu(), key["num_classes"], seed)
    finally:
        torch.set_num_threads(threads)  # the trainer may have chosen its own thread count
    meta = {**stats, **key, "dataset_id": dataset_id, "in_channels": images.shape[1],
            "feature_dim": model.num_features, "train_seconds": time.perf_counter() - start}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # atomic: parallel sweep jobs may race on one cache
    torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)
    os.replace(tmp, path)
    log.info("LeNet feature extractor for %s: held-out accuracy %.4f, trained in %.1f s, cached at %s",
             dataset_id, meta["heldout_accuracy"], meta["train_seconds"], path)
    return model, meta


def load_or_train_extractor(images, labels, dataset_id: str, cache_dir, num_classes: int, seed: int = 0):
    """The LeNet feature space for these images: from `cache_dir/<dataset_id>.pt` when it matches, else trained."""
    path = Path(cache_dir).expanduser() / f"{dataset_id}.pt"
    labels = labels.long()
    key = {"fingerprint": fingerprint(images, labels), "num_classes": num_classes, "version": VERSION}
    cached = _read_cache(path)
    meta = cached.get("meta", {}) if isinstance(cached, dict) else {}
    if all(meta.get(name) == value for name, value in key.items()):
        model = LeNetFeatures(meta["in_channels"], num_classes, meta["feature_dim"])
        model.load_state_dict(cached["state_dict"])
    else:
        if cached is not None:
            log.warning("extractor cache %s was made from other images or code: retraining", path)
        model, meta = _train_and_cache(images, labels, path, key, dataset_id, seed)
    model.eval().requires_grad_(False)
    info = {"extractor": "lenet", "heldout_accuracy": meta["heldout_accuracy"],
            "n_train": meta["n_train"], "n_heldout": meta["n_heldout"]}
    return model, info


def load_inception(weights_path=None) -> nn.Module:
    """torch-fidelity's InceptionV3 (the FID reference network, TF-1.x resizing) from a local file; never downloads.

    Its forward takes uint8 [N, 3, H, W] and returns (pool3 features [N, 2048], unbiased logits [N, 1008]).
    """
    hub_file = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE  # $TORCH_HOME/hub, ~/.cache/torch/hub
    path = Path(weights_path).expanduser() if weights_path else hub_file
    if not path.is_file():  # checked before importing torch-fidelity, whose default is to download
        home = "($TORCH_HOME/hub/checkpoints, TORCH_HOME defaults to ~/.cache/torch)"
        if weights_path:
            raise UserError(f"metrics.inception_weights={weights_path}: no such file; put the Inception weights "
                            f"({INCEPTION_FILE}) at that path, or set metrics.inception_weights=null and put them "
                            f"at {hub_file} {home}; nothing is downloaded")
        raise UserError(f"no Inception weights at {hub_file} {home}: put {INCEPTION_FILE} there or set "
                        "metrics.inception_weights=<file>; nothing is downloaded")
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                       feature_extractor_weights_path=str(path))
