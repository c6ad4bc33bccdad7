"""DCGAN (Radford 2016) at 8, 16, 28, 32 or 64 px: strided convs, no pooling, no FC but the projection,
BatchNorm + ReLU in G, tanh output, LeakyReLU in D, D normalization chosen from config."""
from torch import Tensor, nn

from gan_runner.nets.norm import feature_norm, maybe_weight_norm

# image size -> (side of the first feature map, number of 2x up/down-sampling stages)
SIZES = {8: (4, 1), 16: (4, 2), 28: (7, 2), 32: (4, 3), 64: (4, 4)}


def plan(image_size: int) -> tuple[int, int]:
    if image_size not in SIZES:
        raise ValueError(f"dcgan supports image sizes {sorted(SIZES)}, got {image_size}: set data.image_size")
    return SIZES[image_size]


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, image_size: int, channels: int, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        self.side, stages = plan(image_size)
        self.top = width * 2 ** (stages - 1)
        self.project = nn.Sequential(nn.Linear(z_dim, self.top * self.side**2, bias=False),
                                     nn.BatchNorm1d(self.top * self.side**2), nn.ReLU(True))
        layers: list[nn.Module] = []
        ch = self.top
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.project(z).view(-1, self.top, self.side, self.side))


class DCGANDiscriminator(nn.Module):
    def __init__(self, image_size: int, channels: int, width: int = 64, norm: str = "none"):
        super().__init__()
        side, stages = plan(image_size)
        layers: list[nn.Module] = []
        ch_in, ch = channels, width
        for i in range(stages):
            # DCGAN leaves the first D layer unnormalized.
            layer_norm = "none" if i == 0 else norm
            layers += [maybe_weight_norm(nn.Conv2d(ch_in, ch, 4, 2, 1), layer_norm),
                       feature_norm(layer_norm, ch, True), nn.LeakyReLU(0.2, True)]
            ch_in, ch = ch, ch * 2
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.feature_dim = ch_in * side**2
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.trunk(x)).squeeze(1)
