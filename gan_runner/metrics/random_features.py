"""A label-free feature space that needs no download: two fixed, seeded, randomly initialised conv nets.

Random embeddings serve where no suitable pretrained network exists (Naeem et al. 2020, "Reliable Fidelity and
Diversity Metrics", sec. 5). One net sees colour and brightness; the other's first filters have zero mean, so it
sees only structure (edges, texture, noise). Either alone is blind to something: on a folder of shapes, the first
put a 3x3 blur closer to the real images than other real images are, the second barely saw a brightness shift.
Each half is scaled to unit RMS on the training images, so that neither drowns the other and KID's cubic kernel gets
features of order 1. No classes, so no IS. Its numbers rank runs on the same data; they are not Inception FIDs.
"""
import torch
from torch import nn

from gan_runner.data.dataset import GanData

SEED = 0
WIDTHS = (32, 64, 128, 128)
SCALE_IMAGES = 1000  # the training images the two scales are measured on (first of a fixed permutation)
BATCH = 250


def _net(in_channels: int, generator: torch.Generator, zero_mean_first: bool) -> nn.Sequential:
    """Strided 3x3 convs and ReLUs, then the global mean of each channel."""
    layers, channels = [], in_channels
    for i, width in enumerate(WIDTHS):
        conv = nn.utils.skip_init(nn.Conv2d, channels, width, 3, stride=2, padding=1)  # no draw from the global RNG
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu", generator=generator)
        nn.init.zeros_(conv.bias)
        if zero_mean_first and i == 0:
            conv.weight.data -= conv.weight.data.mean(dim=(2, 3), keepdim=True)
        layers += [conv, nn.ReLU()]
        channels = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


class RandomFeatures(nn.Module):
    kind = "random conv nets, colour and structure halves"
    num_classes = 0  # no classes: no IS

    def __init__(self, in_channels: int):
        super().__init__()
        generator = torch.Generator().manual_seed(SEED)
        self.colour = _net(in_channels, generator, zero_mean_first=False)
        self.structure = _net(in_channels, generator, zero_mean_first=True)
        self.register_buffer("scales", torch.ones(2))
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.colour(x) * self.scales[0], self.structure(x) * self.scales[1]], dim=1)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self(x), None


@torch.no_grad()
def random_features(data: GanData) -> RandomFeatures:
    """The random feature space of this data's image shape, its two halves scaled on this data's images."""
    net = RandomFeatures(data.x.shape[1])
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:SCALE_IMAGES]
    for i, half in enumerate((net.colour, net.structure)):
        rms = torch.cat([half(data.samples(idx)) for idx in perm.split(BATCH)]).square().mean().sqrt()
        net.scales[i] = 1 / rms.clamp_min(1e-8)  # a set of blank images: no NaN from 0 * inf
    return net
