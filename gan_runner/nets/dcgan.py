"""DCGAN (Radford 2016) at 8, 16, 28, 32 or 64 px: strided convs, no pooling, no FC but the projection (G may add
one before it and D one before its heads, as InfoGAN's nets do), BatchNorm + ReLU in G, tanh output, LeakyReLU in
D, D normalization chosen from config."""
from torch import Tensor, nn

from gan_runner.checks import ConfigError, non_negative, positive
from gan_runner.nets.critic import Discriminator, check_leak, check_noise, hidden_noise
from gan_runner.nets.norm import check_norm, feature_norm, maybe_weight_norm

# image size -> (side of the first feature map, number of 2x up/down-sampling stages)
SIZES = {8: (4, 1), 16: (4, 2), 28: (7, 2), 32: (4, 3), 64: (4, 4)}


def check_size(args: dict) -> None:
    if args["shape"][-1] not in SIZES:
        raise ConfigError("shape", f"is not a size dcgan supports: set data.image_size to one of {sorted(SIZES)}")


def plan(image_size: int) -> tuple[int, int]:
    if image_size not in SIZES:
        raise ValueError(f"dcgan supports image sizes {sorted(SIZES)}, got {image_size}: set data.image_size")
    return SIZES[image_size]


class DCGANGenerator(nn.Module):
    """z [N, z_dim] -> images of `shape` [C, H, W] (square)."""

    def __init__(self, z_dim: int, shape: list[int], width: int = 64, fc: int = 0):
        super().__init__()
        channels, image_size = shape[0], shape[-1]
        self.z_dim = z_dim
        self.side, stages = plan(image_size)
        self.top = width * 2 ** (stages - 1)
        widths = [z_dim, *([fc] if fc else []), self.top * self.side**2]  # InfoGAN's MNIST G: an FC layer first
        self.project = nn.Sequential(*[layer for n_in, n_out in zip(widths, widths[1:]) for layer in
                                       (nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU(True))])
        layers: list[nn.Module] = []
        ch = self.top
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        positive(args, "z_dim", "width")
        non_negative(args, "fc")
        check_size(args)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.project(z).view(-1, self.top, self.side, self.side))


class DCGANDiscriminator(Discriminator):
    """Images of `shape` [C, H, W] -> one score each."""

    def __init__(self, shape: list[int], width: int = 64, norm: str = "none", fc: int = 0, leak: float = 0.2,
                 noise: float = 0.0):
        channels, image_size = shape[0], shape[-1]
        side, stages = plan(image_size)
        layers: list[nn.Module] = []
        ch_in, ch = channels, width
        for i in range(stages):
            # DCGAN leaves the first D layer unnormalized.
            layer_norm = "none" if i == 0 else norm
            layers += [maybe_weight_norm(nn.Conv2d(ch_in, ch, 4, 2, 1), layer_norm),
                       feature_norm(layer_norm, ch, True), nn.LeakyReLU(leak, True), *hidden_noise(noise)]
            ch_in, ch = ch, ch * 2
        layers.append(nn.Flatten())
        features = ch_in * side**2
        if fc:  # InfoGAN's MNIST D: a normalized FC layer between the convs and the heads it shares
            layers += [maybe_weight_norm(nn.Linear(features, fc), norm), feature_norm(norm, fc, False),
                       nn.LeakyReLU(leak, True), *hidden_noise(noise)]
            features = fc
        super().__init__(nn.Sequential(*layers), features, leak)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        positive(args, "width")
        non_negative(args, "fc")
        check_norm(args)
        check_leak(args)
        check_noise(args)
        check_size(args)
