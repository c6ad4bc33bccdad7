"""Improved GAN's feature matching (Salimans et al. 2016, §3.1): G's term ‖E f(x) - E f(G(z))‖² at D's trunk features
f, any variant's G objective when `variant.feature_matching` is on (GAN.matched_features scores the real side)."""
from torch import Tensor

from gan_runner import distributed


def feature_distance(real: Tensor, fake: Tensor) -> Tensor:
    """‖mean of real rows - mean of fake rows‖², each mean over every rank's rows (a function of batch means:
    DDP-exact)."""
    mean_real = distributed.mean_over_ranks(real.flatten(1).float().mean(0))
    mean_fake = distributed.mean_over_ranks(fake.flatten(1).float().mean(0))
    return (mean_real - mean_fake).pow(2).sum()
