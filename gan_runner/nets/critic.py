"""What every discriminator net looks like to the rest of the runner: a trunk, then a linear head.

`trunk(x)` gives features [N, feature_dim] and `head` scores them, so that a variant can add heads on the same
features (an auxiliary classifier, InfoGAN's Q, a projection of labels) without a second copy of D, and the
module can read the features of the very pass that scored a batch. A variant's heads go into `heads`: they are
part of D, so D's optimizer trains them and checkpoints hold them; they are no part of D's score, so the weight
constraints (clipping, spectral norm), whose Lipschitz arguments concern the score, leave them alone.
"""
from torch import Tensor, nn

from gan_runner import draws
from gan_runner.checks import ConfigError


def check_leak(args: dict) -> None:
    if not 0 <= args.get("leak", 0.2) < 1:
        raise ConfigError("leak", "must be in [0, 1): the negative slope of D's LeakyReLU "
                                  "(DCGAN 0.2, InfoGAN's code 0.01)")


def check_noise(args: dict) -> None:
    if args.get("noise", 0.0) < 0:
        raise ConfigError("noise", "must be >= 0: the standard deviation of the Gaussian noise on D's hidden "
                                   "activations (0: none)")


class HiddenNoise(nn.Module):
    """N(0, sigma^2) added to D's hidden activations while D trains (eval mode reads D without it): the
    regularizer of the ladder-era D's of Improved GAN (Salimans 2016) and CatGAN's reimplementations."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = sigma

    def forward(self, x: Tensor) -> Tensor:
        return x + self.sigma * draws.normal_like(x) if self.training else x


def hidden_noise(sigma: float) -> list[nn.Module]:
    """The layer to put after each of D's hidden activations: none at sigma 0, so that D's layers stay as they were."""
    return [HiddenNoise(sigma)] if sigma else []


class AuxiliaryHeads(nn.ModuleDict):
    """A variant's heads on D's features, by name (AC-GAN's classifier, InfoGAN's Q): estimators of labels or codes
    trained by likelihood, outside D's score and so outside every weight constraint (constraints/base.py)."""


def part_of(discriminator: nn.Module, part: str) -> nn.Module:
    """D's submodule named `part`, e.g. the `trunk` whose output is D's features, inside any wrapper."""
    found = [m for name, m in discriminator.named_modules() if name.rsplit(".", 1)[-1] == part]
    if len(found) != 1:
        raise TypeError(f"{type(discriminator).__name__} has {len(found)} modules named `{part}`; a variant that reads "
                        "it needs a net with exactly one (see gan_runner/nets/critic.py)")
    return found[0]


class Discriminator(nn.Module):
    #: Whether the net flattens its input to one vector (an MLP): labels are then appended to that vector instead
    #: of as constant image channels (nets/conditioning.py).
    flat_input = False

    def __init__(self, trunk: nn.Module, feature_dim: int, leak: float = 0.2):
        super().__init__()
        self.trunk = trunk
        self.feature_dim = feature_dim
        self.leak = leak  # the trunk's LeakyReLU slope, for a head's hidden layers (InfoGAN's Q)
        self.head = nn.Linear(feature_dim, 1)
        self.heads = AuxiliaryHeads()

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.trunk(x)).squeeze(1)
