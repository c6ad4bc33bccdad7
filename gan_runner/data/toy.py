"""2-D Gaussian mixtures of PacGAN (Lin 2018): ring of 8 and grid of 25."""
import math

import torch

from gan_runner.checks import checked_by, positive
from gan_runner.data.checks import check_size
from gan_runner.data.dataset import GanData


def ring_centers(modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    # 2*pi*i/modes for i < modes; linspace(0, 2*pi, modes) would put the first and last mode on top of each other.
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    axis = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], dim=1)


def sample_mixture(centers: torch.Tensor, std: float, n: int, seed: int) -> torch.Tensor:
    """n points from the uniform mixture of isotropic Gaussians at `centers`."""
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(len(centers), (n,), generator=g)
    return centers[which] + std * torch.randn(n, 2, generator=g)


def _check_points(args: dict, cfg) -> None:
    positive(args, "n", "std")
    check_size(args["n"], cfg, f"training points of data={cfg.data.name}")


@checked_by(_check_points)
def ring(n: int = 50_000, std: float = 0.01, seed: int = 1234) -> GanData:
    centers = ring_centers()
    return GanData("ring", sample_mixture(centers, std, n, seed), centers=centers, std=std)


@checked_by(_check_points)
def grid(n: int = 50_000, std: float = 0.05, seed: int = 1234) -> GanData:
    centers = grid_centers()
    return GanData("grid", sample_mixture(centers, std, n, seed), centers=centers, std=std)
