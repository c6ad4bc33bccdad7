"""Precision, recall, density and coverage (Naeem et al., ICML 2020) with exact k-nearest-neighbour balls.

Each sample gets a ball reaching to its k-th nearest neighbour within its own set (the sample itself excluded):
  precision = share of fakes inside at least one real ball          (fidelity)
  recall    = share of reals inside at least one fake ball          (diversity, Kynkäänniemi et al. 2019)
  density   = number of (fake, real ball containing it) pairs / (k * #fakes)   (fidelity, 1 when fake ~ real)
  coverage  = share of real balls that contain at least one fake    (diversity, robust to fake outliers)
Balls are open (distance < radius): on two identical sets each real ball then holds its centre and k - 1
neighbours, so density is 1, as it should be when fake ~ real.
Distances: exact search (no approximate index) in float64, in row chunks so that 10,000 x 10,000 pairs never sit
in memory at once.
"""
import torch

CHUNK = 1024


def _kth_neighbour_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    # k + 1 smallest: the nearest is the point itself at distance 0.
    return torch.cat([torch.cdist(rows, x).topk(k + 1, dim=1, largest=False).values[:, -1] for rows in x.split(CHUNK)])


def prdc(real_feats: torch.Tensor, fake_feats: torch.Tensor, k: int = 5) -> dict[str, float]:
    real, fake = real_feats.double(), fake_feats.double()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"prdc needs more than k={k} real and fake samples, got {len(real)} and {len(fake)}")
    real_radius, fake_radius = _kth_neighbour_radius(real, k), _kth_neighbour_radius(fake, k)

    real_balls_per_fake = []
    real_covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    for rows in fake.split(CHUNK):
        inside = torch.cdist(rows, real) < real_radius  # [fake rows, real balls]
        real_balls_per_fake.append(inside.sum(dim=1))
        real_covered |= inside.any(dim=0)
    real_balls_per_fake = torch.cat(real_balls_per_fake)
    real_in_fake_ball = torch.cat([(torch.cdist(rows, fake) < fake_radius).any(dim=1) for rows in real.split(CHUNK)])

    return {
        "precision": (real_balls_per_fake > 0).double().mean().item(),
        "recall": real_in_fake_ball.double().mean().item(),
        "density": real_balls_per_fake.double().sum().item() / (k * len(fake)),
        "coverage": real_covered.double().mean().item(),
    }
