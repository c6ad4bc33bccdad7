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

from gan_runner import cache
from gan_runner.data.dataset import GanData, to_unit_range
from gan_runner.errors import UserError

log = logging.getLogger(__name__)

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
VERSION = 2  # of LeNetFeatures and its training: bump it and every older cache is retrained
HELDOUT_FRACTION = 0.1
BATCH_SIZE = 128
MIN_EPOCHS = 5
MIN_STEPS = 500  # small sets (sklearn's 1,797 digits) need more passes than MNIST to converge
MAX_IMAGES = 50_000  # 5 epochs of 45,000 labelled images are plenty for 10 classes; a 200k-image folder trains on these
FINGERPRINT_PIXELS = 512


class LeNetFeatures(nn.Module):
    """Three conv blocks and a `feature_dim` penultimate layer; adaptive pooling makes any size from 8 to 64 work.

    Max rather than average pooling at the end: about 98% vs 96% held-out accuracy on mnist5k, same training.
    """

    kind = "penultimate layer"

    def __init__(self, in_channels: int = 1, num_classes: int = 10, feature_dim: int = 128):
        super().__init__()
        self.num_classes = num_classes
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(3),
            nn.Flatten(), nn.Linear(64 * 9, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)
        self.num_features = feature_dim
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


def fingerprint(data: GanData) -> str:
    """Shape, plus the source's content hash when it has one (a decoded folder's), else a hash of a few hundred evenly
    spaced pixels (as floats in [-1, 1], whatever the storage), and of the labels: cheap, and catches a stale cache."""
    if data.content_id is not None:
        digest = hashlib.sha256(data.content_id.encode())
    else:
        flat = data.x.reshape(-1)
        picks = flat[torch.linspace(0, flat.numel() - 1, FINGERPRINT_PIXELS).long()]
        values = to_unit_range(picks) if picks.dtype == torch.uint8 else picks.float()
        digest = hashlib.sha256(values.numpy().tobytes())
    if data.y is not None:
        digest.update(data.y.long().numpy().tobytes())
    return f"{'x'.join(map(str, data.x.shape))}:{digest.hexdigest()[:16]}"


def weights_id(net: nn.Module) -> str:
    """A hash of a network's class and weights: names a feature space in cache keys and in the protocol."""
    digest = hashlib.sha256(type(net).__name__.encode())
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def _split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out, training) indices of a fixed random subset of at most MAX_IMAGES."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:MAX_IMAGES]
    n_heldout = max(1, round(len(perm) * HELDOUT_FRACTION))
    return perm[:n_heldout], perm[n_heldout:]


def _train(data: GanData, seed: int) -> tuple[LeNetFeatures, dict]:
    """Adam on 90% of the images; accuracy on the other 10% (a fixed split) says how good the feature space is."""
    held, train = _split(len(data), seed)
    steps_per_epoch = math.ceil(len(train) / BATCH_SIZE)
    epochs = max(MIN_EPOCHS, math.ceil(MIN_STEPS / steps_per_epoch))

    # Own seed and shuffling generator inside fork_rng: training the extractor must not move the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LeNetFeatures(data.x.shape[1], data.num_classes)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        # One cycle (warm-up, then annealing): the best accuracy we found for a short, fixed budget.
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * steps_per_epoch)
        shuffle = torch.Generator().manual_seed(seed + 1)
        for _ in range(epochs):
            for idx in train[torch.randperm(len(train), generator=shuffle)].split(BATCH_SIZE):
                loss = F.cross_entropy(model.logits(data.samples(idx)), data.labels(idx))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    model.eval()
    with torch.no_grad():
        hidden = torch.cat([model.body(data.samples(i)) for i in train.split(1000)])
        model.feature_scale.fill_(hidden.square().mean().rsqrt())
        correct = sum((model.logits(data.samples(i)).argmax(1) == data.labels(i)).sum().item()
                      for i in held.split(1000))
    return model, {"heldout_accuracy": correct / len(held), "n_train": len(train), "n_heldout": len(held)}


def _read_cache(key: dict):
    def read(path: Path) -> tuple[LeNetFeatures, dict] | None:
        try:
            cached = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file is a cache miss, not a reason to stop the run
            log.warning("unreadable extractor cache %s (%s): retraining", path, exc)
            return None
        meta = cached.get("meta", {}) if isinstance(cached, dict) else {}
        if any(meta.get(name) != value for name, value in key.items()):
            return None  # made from other images or code
        with torch.device("meta"):  # no initialisation: it would draw from the caller's RNG
            model = LeNetFeatures(meta["in_channels"], meta["num_classes"], meta["feature_dim"])
        model.load_state_dict(cached["state_dict"], assign=True)
        return model, meta

    return read


def _train_and_save(data: GanData, key: dict, dataset_id: str, seed: int):
    def make(tmp: Path) -> None:
        threads = torch.get_num_threads()
        torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
        start = time.perf_counter()
        try:
            model, stats = _train(data, seed)
        finally:
            torch.set_num_threads(threads)  # the trainer may have chosen its own thread count
        meta = {**stats, **key, "dataset_id": dataset_id, "in_channels": data.x.shape[1],
                "feature_dim": model.num_features, "train_seconds": time.perf_counter() - start}
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)
        log.info("LeNet feature extractor for %s: held-out accuracy %.4f, trained in %.1f s", dataset_id,
                 meta["heldout_accuracy"], meta["train_seconds"])

    return make


def load_or_train_extractor(data: GanData, cache_dir, seed: int = 0) -> tuple[LeNetFeatures, dict]:
    """The LeNet feature space for this labelled data: from `cache_dir/<dataset_id>-<content hash>.pt` when it
    matches, else trained once (jobs started together wait for the first one's). One file per content: two labelled
    folders of the same size each keep their own. A `seed` other than 0 (another draw of the same net: DeePSiM's
    comparator, kept apart from the evaluation's) has a file and a key of its own."""
    dataset_id = f"{data.name}-{'x'.join(map(str, data.x.shape[1:]))}"
    key = {"fingerprint": fingerprint(data), "num_classes": data.num_classes, "version": VERSION,
           **({"seed": seed} if seed else {})}
    suffix = f"-seed{seed}" if seed else ""
    path = Path(cache_dir).expanduser() / f"{dataset_id}-{key['fingerprint'].split(':')[1]}{suffix}.pt"
    model, meta = cache.once(path, _read_cache(key), _train_and_save(data, key, dataset_id, seed))
    model.eval().requires_grad_(False)
    info = {"extractor": "lenet", "heldout_accuracy": meta["heldout_accuracy"],
            "n_train": meta["n_train"], "n_heldout": meta["n_heldout"]}
    return model, info


def inception_file(weights_path=None) -> Path:
    """Where the Inception weights are; a one-line error naming both places when they are not (checked before any
    work, and before importing torch-fidelity, whose default is to download)."""
    hub_file = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE  # $TORCH_HOME/hub, ~/.cache/torch/hub
    path = Path(weights_path).expanduser() if weights_path else hub_file
    if not path.is_file():
        home = "($TORCH_HOME/hub/checkpoints, TORCH_HOME defaults to ~/.cache/torch)"
        if weights_path:
            raise UserError(f"metrics.inception_weights={weights_path}: no such file; put the Inception weights "
                            f"({INCEPTION_FILE}) at that path, or set metrics.inception_weights=null and put them "
                            f"at {hub_file} {home}; nothing is downloaded")
        raise UserError(f"no Inception weights at {hub_file} {home}: put {INCEPTION_FILE} there or set "
                        "metrics.inception_weights=<file>; nothing is downloaded")
    return path


class InceptionFeatures(nn.Module):
    """torch-fidelity's InceptionV3 behind the interface of the other spaces: images in [-1, 1] in, (pool3 features,
    unbiased logits) out. It takes uint8 RGB, like the photos it knows."""

    kind = "inception pool3"
    num_classes = 1008

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return self.net(pixels.expand(-1, 3, -1, -1))  # grey images: the one channel replicated to three


def load_inception(weights_path=None) -> InceptionFeatures:
    """The FID reference network (TF-1.x resizing) from a local file; never downloads."""
    path = inception_file(weights_path)
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return InceptionFeatures(FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                         feature_extractor_weights_path=str(path)))
