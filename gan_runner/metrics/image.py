"""FID, IS, KID (torchmetrics) and PRDC of generated images against a fixed reference set of real images.

The extractor runs once per image and yields [features | logits]; each torchmetrics metric gets a parameter-free
"extractor" that picks its columns (features for FID and KID, logits for IS), so three metrics cost one network
pass instead of three. Real statistics are computed once, in the constructor.
"""
import torch
from torch import nn
from torchmetrics.image import FrechetInceptionDistance, InceptionScore, KernelInceptionDistance

from gan_runner.errors import UserError
from gan_runner.metrics.extractor import LeNetFeatures
from gan_runner.metrics.prdc import prdc

BATCH = 250
PRDC_K = 5
METRIC_SEED = 0  # IS splits and KID subsets are drawn at random: the same samples always give the same numbers


class _Columns(nn.Module):
    """Columns [start, stop) of the precomputed [features | logits] matrix, in float64 for the statistics."""

    def __init__(self, start: int, stop: int):
        super().__init__()
        self.start, self.stop = start, stop
        self.num_features = stop - start  # read by torchmetrics instead of probing with a dummy image

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.start : self.stop].double()


def _features_and_logits(extractor: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [-1, 1] in the form the extractor expects; Inception wants uint8 RGB like the photos it knows."""
    if isinstance(extractor, LeNetFeatures):
        return extractor.features_and_logits(images)
    pixels = ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return extractor(pixels.expand(-1, 3, -1, -1))  # grey images: the one channel replicated to three


class ImageEvaluator:
    """Scores generated images against the first `num_samples` of a fixed permutation of the real images."""

    def __init__(self, real_images: torch.Tensor, extractor: nn.Module, protocol: dict, num_samples: int,
                 kid_subset_size: int = 1000, device="cpu"):
        if num_samples > len(real_images):
            raise UserError(f"metrics.num_samples={num_samples} exceeds the {len(real_images)} real images: "
                            f"set metrics.num_samples to at most {len(real_images)}")
        if num_samples <= PRDC_K:
            raise UserError(f"metrics.num_samples={num_samples} is too small: precision/recall need more than "
                            f"{PRDC_K} samples")
        self.device = torch.device(device)
        self.extractor = extractor.eval()
        self.kid_subset_size = min(kid_subset_size, num_samples)
        perm = torch.randperm(len(real_images), generator=torch.Generator().manual_seed(0))
        self.real_features, real_logits = self._extract(real_images[perm[:num_samples]])

        dim = self.real_features.shape[1]
        features, logits = _Columns(0, dim), _Columns(dim, dim + real_logits.shape[1])
        self.fid = FrechetInceptionDistance(feature=features, reset_real_features=False, normalize=False)
        self.inception_score = InceptionScore(feature=logits, normalize=False)
        self.kid = KernelInceptionDistance(feature=features, subset_size=self.kid_subset_size,
                                           reset_real_features=False, normalize=False)
        for metric in (self.fid, self.inception_score, self.kid):
            metric.to(self.device).eval()
        real = torch.cat([self.real_features, real_logits], dim=1)
        self.fid.update(real, real=True)
        self.kid.update(real, real=True)

        kind = "penultimate layer" if isinstance(extractor, LeNetFeatures) else "inception pool3"
        self._protocol = {**protocol, "num_real": num_samples, "num_fake": num_samples,
                          "kid_subset_size": self.kid_subset_size, "prdc_k": PRDC_K,
                          "reference": "first n of a fixed permutation of the training images",
                          "features": f"{kind} ({dim}-d)"}

    @property
    def protocol(self) -> dict:
        return dict(self._protocol)

    @torch.no_grad()
    def _extract(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and logits on the evaluator's device, BATCH images at a time."""
        parts = [_features_and_logits(self.extractor, batch.to(self.device, torch.float32))
                 for batch in images.split(BATCH)]
        return torch.cat([f for f, _ in parts]), torch.cat([lg for _, lg in parts])

    def __call__(self, fake_images: torch.Tensor) -> dict[str, float]:
        # fork_rng: the trainer replays its RNG exactly on resume, so evaluating must not consume it.
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(METRIC_SEED)
            fake_features, fake_logits = self._extract(fake_images)
            fake = torch.cat([fake_features, fake_logits], dim=1)
            for metric in (self.fid, self.inception_score, self.kid):
                metric.reset()  # drops the previous fakes, keeps the real statistics (reset_real_features=False)
            self.fid.update(fake, real=False)
            self.kid.update(fake, real=False)
            self.inception_score.update(fake)
            is_mean, is_std = self.inception_score.compute()
            kid_mean, kid_std = self.kid.compute()
            result = {"fid": self.fid.compute().item(), "is_mean": is_mean.item(), "is_std": is_std.item(),
                      "kid_mean": kid_mean.item(), "kid_std": kid_std.item()}
            result.update(prdc(self.real_features, fake_features, k=PRDC_K))
        return result
