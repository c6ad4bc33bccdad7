"""The Laplacian-pyramid L1 loss of GLO (Bojanowski et al. 2018, after Ling & Okada 2006): images split into band-pass
levels L^0 (finest) .. L^{J-1} and a low-pass residual L^J, compared level by level in L1.

Level j: G_0 = x; L^j = G_j - blur(G_j); G_{j+1} = 2x2 average of blur(G_j); the residual L^J = G_J. blur is the
separable 5-tap binomial filter [1, 4, 6, 4, 1] / 16 (Burt & Adelson's), edges replicated, so that a constant image
has zero band-pass levels. Lap1(x, x') = Σ_j 2^{2j} |L^j(x) - L^j(x')|_1 / (pixels of x): level j has 4^-j of the
pixels, so each level weighs as its mean absolute difference, and a level per halving keeps coarse structure from
being drowned by fine detail (the L2 that blurs, the L1 of pixels that still does). Averaged over the batch.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def blur(x: Tensor) -> Tensor:
    channels = x.shape[1]
    kernel = BINOMIAL.to(x)
    x = F.pad(x, (2, 2, 2, 2), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, 5).expand(channels, 1, 1, 5), groups=channels)
    return F.conv2d(x, kernel.view(1, 1, 5, 1).expand(channels, 1, 5, 1), groups=channels)


def pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """The `levels` band-pass levels, finest first, then the low-pass residual."""
    bands = []
    for _ in range(levels):
        smooth = blur(x)
        bands.append(x - smooth)
        x = F.avg_pool2d(smooth, 2, ceil_mode=True)
    return [*bands, x]


def laplacian_l1(x: Tensor, target: Tensor, levels: int = 3) -> Tensor:
    """Σ_j over the levels of the mean |L^j(x) - L^j(target)| (per image, then averaged over the batch)."""
    return sum((a - b).abs().flatten(1).mean(1) for a, b in zip(pyramid(x, levels), pyramid(target, levels))).mean()
