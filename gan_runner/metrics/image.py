"""FID, IS, KID (torchmetrics) and PRDC of generated images against a `Reference` of real ones in one feature space.

The extractor (LeNet, random features, Inception: each has `features_and_logits(images in [-1, 1])`, `kind` and
`num_classes`, 0 for a space without classes) runs once per image and yields features (FID, KID, PRDC) and, for a
classifier, logits (IS).
Each torchmetrics metric gets a stand-in for its network that passes those precomputed values through, so the
metrics cost one network pass instead of three. Generated images arrive batch by batch and only their features are
kept. FID's real statistics are the reference's sums, whether of a sample or of the whole training set; KID and PRDC
need the real features themselves, so they are computed against a sample only.
"""
from collections.abc import Iterable

import torch
from torch import nn
from torchmetrics.image import FrechetInceptionDistance, InceptionScore, KernelInceptionDistance

from gan_runner.errors import UserError
from gan_runner.metrics.prdc import prdc
from gan_runner.metrics.reference import Reference

PRDC_K = 5
IS_SPLITS = 10
METRIC_SEED = 0  # IS splits and KID subsets are drawn at random: the same samples always give the same numbers
# Under DDP rank 0 evaluates alone while the other ranks train: a torchmetrics metric that gathered its states over
# the process group at compute() would wait for ranks that never come. Each metric computes this process's samples.
ALONE = {"sync_on_compute": False}


class _Precomputed(nn.Module):
    """The metric's "network" for values that are already features or logits; float64 for the statistics."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features  # read by torchmetrics instead of probing with a dummy image

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.double()


def frechet_distance(reference: Reference, device="cpu") -> FrechetInceptionDistance:
    """torchmetrics' FID holding the reference's real statistics; update it with fake features, then compute."""
    fid = FrechetInceptionDistance(feature=_Precomputed(len(reference.features_sum)), reset_real_features=False,
                                   normalize=False, **ALONE).to(device).eval()
    fid.real_features_sum.copy_(reference.features_sum)
    fid.real_features_cov_sum.copy_(reference.outer_sum)
    fid.real_features_num_samples.fill_(reference.n)
    return fid


class ImageEvaluator:
    """Scores `num_fake` generated images against the reference."""

    def __init__(self, extractor: nn.Module, reference: Reference, protocol: dict, num_fake: int,
                 kid_subset_size: int = 1000, device="cpu"):
        if reference.features is not None and len(reference.features) <= PRDC_K:
            raise UserError(f"metrics.num_samples={len(reference.features)} is too small: precision/recall need more "
                            f"than {PRDC_K} samples")
        self.device = torch.device(device)
        self.extractor = extractor.eval()
        self.reference = reference
        dim = len(reference.features_sum)
        self._protocol = {**protocol, "features": f"{extractor.kind} ({dim}-d)", "num_real": reference.n,
                          "num_fake": num_fake, "reference": reference.description, "metrics": ["fid"]}
        self.fid = frechet_distance(reference, self.device)
        self.inception_score = self.kid = None
        if extractor.num_classes:
            self.inception_score = InceptionScore(feature=_Precomputed(extractor.num_classes), splits=IS_SPLITS,
                                                  normalize=False, **ALONE).to(self.device).eval()
            self._protocol.update(is_splits=IS_SPLITS)
            self._protocol["metrics"].append("is")
        if reference.features is not None:  # a sample: KID and PRDC compare with its features
            self.kid_subset_size = min(kid_subset_size, len(reference.features), num_fake)
            self.kid = KernelInceptionDistance(feature=_Precomputed(dim), subset_size=self.kid_subset_size,
                                               reset_real_features=False, normalize=False, **ALONE)
            self.kid = self.kid.to(self.device).eval()
            self.kid.update(reference.features.to(self.device), real=True)
            self._protocol.update(kid_subset_size=self.kid_subset_size, prdc_k=PRDC_K)
            self._protocol["metrics"] += ["kid", "prdc"]

    @property
    def protocol(self) -> dict:
        return dict(self._protocol)

    def __call__(self, fake_batches: Iterable[torch.Tensor]) -> dict[str, float]:
        """Metrics of the generated images, given as batches in [-1, 1] (consumed once)."""
        for metric in (self.fid, self.inception_score, self.kid):
            if metric is not None:
                metric.reset()  # drops the previous fakes, keeps the real statistics (reset_real_features=False)
        kept = []
        with torch.no_grad():
            for images in fake_batches:
                features, logits = self.extractor.features_and_logits(images.to(self.device))
                self.fid.update(features, real=False)
                if self.kid is not None:
                    self.kid.update(features, real=False)
                    kept.append(features)
                if self.inception_score is not None:
                    self.inception_score.update(logits)
            # fork_rng: the trainer replays its RNG exactly on resume, so evaluating must not consume it.
            devices = [self.device] if self.device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(METRIC_SEED)
                result = {"fid": self.fid.compute().item()}
                if self.inception_score is not None:
                    is_mean, is_std = self.inception_score.compute()
                    result.update(is_mean=is_mean.item(), is_std=is_std.item())
                if self.kid is not None:
                    kid_mean, kid_std = self.kid.compute()
                    result.update(kid_mean=kid_mean.item(), kid_std=kid_std.item())
                    result.update(prdc(self.reference.features.to(self.device), torch.cat(kept), k=PRDC_K))
        return result
