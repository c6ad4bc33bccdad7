"""Pictures of a run: a grid of generated images, generated vs real points over the critic's contour, or a small
game's trajectory over its gradient field.

Each is drawn once: its pixels are written as a PNG and returned (H x W x 3 uint8) for the logger.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402


def save_grid(images: torch.Tensor, path: Path, per_row: int | None = None) -> np.ndarray:
    """Images in rows of `per_row` (default: a square)."""
    nrow = per_row or max(1, int(len(images) ** 0.5))
    grid = make_grid(images.float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=1)
    return _save(grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy(), path)


def save_scatter(real: torch.Tensor, fake: torch.Tensor, critic, path: Path, title: str) -> np.ndarray:
    """Real and generated points over the critic's scores on a grid covering both."""
    both = torch.cat([real, fake]).cpu()
    lo, hi = both.min(0).values - 0.5, both.max(0).values + 0.5
    xs, ys = torch.linspace(lo[0], hi[0], 120), torch.linspace(lo[1], hi[1], 120)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    scores = critic(torch.stack([gx.flatten(), gy.flatten()], 1)).view(120, 120).cpu()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    contour = ax.contourf(gx, gy, scores, levels=20, cmap="RdBu_r", alpha=0.6)
    fig.colorbar(contour, ax=ax, fraction=0.046, label="critic score D(x)")
    ax.scatter(*real.cpu().T, s=3, c="black", alpha=0.5, label="real")
    ax.scatter(*fake.cpu().T, s=3, c="orange", alpha=0.6, label="generated")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    fig.tight_layout()
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return _save(pixels, path)


def _save(pixels: np.ndarray, path: Path) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def trajectory_axes(ax, points: np.ndarray, field, limit: float, title: str | None = None, grid: int = 17) -> None:
    """A trajectory through (θ, ψ) over the dynamics' field: streamlines of `field(theta, psi) -> (dθ/dt, dψ/dt)`
    on a grid of [-limit, limit]², the path, its start (circle) and end (star), and the equilibrium (0, 0) (cross)."""
    axis = np.linspace(-limit, limit, grid)
    tt, pp = np.meshgrid(axis, axis, indexing="xy")
    flow = np.array([field(t, p) for t, p in zip(tt.ravel(), pp.ravel())]).reshape(grid, grid, 2)
    ax.streamplot(tt, pp, flow[..., 0], flow[..., 1], color="0.75", density=0.8, linewidth=0.6, arrowsize=0.7)
    ax.plot(points[:, 0], points[:, 1], color="tab:blue", lw=1.0)
    ax.plot(*points[0], "o", color="tab:green", ms=5)
    ax.plot(*points[-1], "*", color="tab:red", ms=9)
    ax.plot(0, 0, "+", color="black", ms=9, mew=1.5)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    if title:
        ax.set_title(title, fontsize=8)


def trajectory_limit(points: np.ndarray) -> float:
    """A square view that shows the start, the equilibrium and where the path went, but not a divergence's far end."""
    start = float(np.abs(points[0]).max()) or 1.0
    reach = float(np.nanmax(np.abs(points[np.isfinite(points).all(1)]))) if np.isfinite(points).any() else start
    return max(1.5 * start, min(1.1 * reach, 4.0 * start))


def save_trajectory(points: torch.Tensor, field, path: Path, title: str) -> np.ndarray:
    """The Dirac-GAN's picture: the path of (θ, ψ) over the field of the training dynamics."""
    points = points.double().numpy()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    trajectory_axes(ax, points, field, trajectory_limit(points))
    ax.set_xlabel("θ (generator)")
    ax.set_ylabel("ψ (discriminator)")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return _save(pixels, path)
