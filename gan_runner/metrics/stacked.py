"""Stacked MNIST's metrics (PacGAN, Lin et al. 2018, section 5.2; VEEGAN): each of a sample's three channels is
classified by the domain classifier of the digits (mnist5k's cached LeNet), which makes its mode 100 a + 10 b + c.

- `stacked_modes`: the modes that at least one sample falls in, of 1,000 (as PacGAN counts them);
- `stacked_kl`: KL(q || uniform) of the generated mode histogram q, sum_m q_m log(1,000 q_m): 0 for samples spread
  evenly over every mode, log 1,000 = 6.91 for one mode;
- `fid`: the Frechet distance in that classifier's features of the three channels side by side (3 x 128), against
  the reference stacks.
A classifier error moves a sample to another mode: with held-out accuracy p per digit, a stack's mode is read right
with probability about p^3 (0.94 at p = 0.98); errors spread samples over more modes (counts up, KL down), so a G
that collapsed onto few modes reads a little better than it is.
"""
import torch
from torch import Tensor

from gan_runner.metrics.classes import BATCH, frechet_distance, gaussian

MODES = 1000


def mode_metrics(modes: Tensor) -> dict[str, float]:
    counts = torch.bincount(modes.long().cpu(), minlength=MODES).double()
    q = counts[counts > 0] / len(modes)
    return {"stacked_modes": float((counts > 0).sum()), "stacked_kl": float((q * (q * MODES).log()).sum())}


class StackedClassifier:
    """Each channel of a stack through the digits' classifier: modes and features of a batch of stacks."""

    def __init__(self, classifier, device):
        self.classifier, self.device = classifier.to(device).eval(), device

    @torch.no_grad()
    def __call__(self, stacks: Tensor) -> tuple[Tensor, Tensor]:
        """(modes [N], features [N, 3 F]) of stacks [N, 3, H, W] in [-1, 1]."""
        modes, features = [], []
        for batch in stacks.split(BATCH):
            channels = batch.to(self.device, torch.float32).flatten(0, 1).unsqueeze(1)  # [3 n, 1, H, W]
            feats, logits = self.classifier.features_and_logits(channels)
            digits = logits.argmax(1).view(-1, 3)
            modes.append((digits * torch.tensor([100, 10, 1], device=digits.device)).sum(1).cpu())
            features.append(feats.view(len(batch), -1).double().cpu())
        return torch.cat(modes), torch.cat(features)


def fid(real_features: tuple[Tensor, Tensor], fake_features: Tensor) -> float:
    return frechet_distance(real_features, gaussian(fake_features))
