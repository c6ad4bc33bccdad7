"""Metrics for the 2-D Gaussian mixtures, with PacGAN's definitions (Lin et al. 2018, Table 1).

A generated sample is high quality when it lies within 3 standard deviations (Euclidean distance) of its nearest
mode; a mode is covered when at least one high-quality sample is nearest to it; reverse KL compares the histogram
of high-quality samples over modes with the uniform one. Exact W1 beside the critic's own estimate shows how far
a Lipschitz critic is from the true Wasserstein distance.
"""
import math

import ot
import torch


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Direct differences, not the |a|^2 + |b|^2 - 2ab shortcut: exact for points sitting on a mode or 3 sigma out.
    return torch.cdist(a.double(), b.double(), compute_mode="donot_use_mm_for_euclid_dist")


def mode_metrics(samples: torch.Tensor, centers: torch.Tensor, std: float) -> dict[str, float]:
    """modes covered, % high-quality samples, KL(p_gen || uniform) over modes (nan when no sample is high quality)."""
    nearest_dist, nearest = _distances(samples, centers).min(dim=1)
    high_quality = nearest_dist <= 3 * std
    counts = torch.bincount(nearest[high_quality], minlength=len(centers)).double()
    p = counts[counts > 0] / counts.sum()  # empty modes contribute 0 * log 0 = 0
    return {
        "modes": float((counts > 0).sum()),
        "hq_percent": 100.0 * high_quality.double().mean().item(),
        "reverse_kl": (p * (p * len(centers)).log()).sum().item() if len(p) else math.nan,
    }


def exact_w1(a: torch.Tensor, b: torch.Tensor) -> float:
    """Exact Wasserstein-1 between two equal-weight clouds with Euclidean cost (POT's network simplex solver: the
    same optimum as an assignment, several times faster than scipy's at 2,500 points)."""
    if len(a) != len(b):
        raise ValueError(f"exact_w1 needs equal-size point clouds, got {len(a)} and {len(b)}")
    cost = _distances(a, b).cpu().numpy()
    return float(ot.emd2([], [], cost, numItermax=10_000_000))


@torch.no_grad()
def critic_w1_estimate(critic, real: torch.Tensor, fake: torch.Tensor) -> float:
    """E[D(real)] - E[D(fake)]: what a Lipschitz critic believes W1 to be."""
    return (critic(real).double().mean() - critic(fake).double().mean()).item()
