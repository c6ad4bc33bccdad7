"""The ResNet G and D of SNGAN (Miyato et al. 2018, appendix B.4) and WGAN-GP (Gulrajani et al. 2017, appendix F):
pre-activation residual blocks of two 3x3 convs with a 1x1 shortcut where the shape changes.

G: z -> linear to a first map (4x4, 7x7 at 28 px) of `width` channels -> up-blocks (BatchNorm, ReLU, 2x nearest
upsampling, conv, BatchNorm, ReLU, conv) -> BatchNorm, ReLU, 3x3 conv to the image's channels, tanh.
D: an optimized first block (conv, ReLU, conv, 2x2 average pool; shortcut: pool then 1x1 conv), down-blocks (ReLU,
conv, ReLU, conv, pool), two blocks at the last size, ReLU, and the features summed over the map (global sum
pooling) under the score head. No normalization in D: SNGAN normalizes by `constraint=sn`, WGAN-GP by its penalty.
At 32 px: G 256 channels through 4, 8, 16, 32; D 128 channels through 32, 16, 8, 8, 8 (SNGAN's CIFAR-10 nets).
"""
from torch import Tensor, nn

from gan_runner.checks import ConfigError, positive
from gan_runner.errors import UserError
from gan_runner.nets.critic import Discriminator

# image size -> (side of G's first map, G's up-blocks, D's down-blocks)
PLANS = {28: (7, 2, 2), 32: (4, 3, 2), 64: (4, 4, 3)}


def check_size(args: dict, cfg) -> None:
    positive(args, "width")
    if args["shape"][-1] not in PLANS:
        raise ConfigError("shape", f"is not a size resnet supports: set data.image_size to one of {sorted(PLANS)}")
    if (cfg.model.get("g_norm"), cfg.model.get("d_norm")) != ("batch", "none"):
        raise UserError("model=resnet has BatchNorm in G and no normalization in D (SNGAN's nets): leave model.g_norm "
                        "and model.d_norm at batch and none")


def _conv(ch_in: int, ch_out: int, kernel: int = 3) -> nn.Conv2d:
    return nn.Conv2d(ch_in, ch_out, kernel, 1, kernel // 2)


class Residual(nn.Module):
    """residual(x) + shortcut(x)."""

    def __init__(self, residual: nn.Module, shortcut: nn.Module):
        super().__init__()
        self.residual, self.shortcut = residual, shortcut

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


def up_block(ch_in: int, ch_out: int) -> Residual:
    residual = nn.Sequential(nn.BatchNorm2d(ch_in), nn.ReLU(), nn.Upsample(scale_factor=2), _conv(ch_in, ch_out),
                             nn.BatchNorm2d(ch_out), nn.ReLU(), _conv(ch_out, ch_out))
    return Residual(residual, nn.Sequential(nn.Upsample(scale_factor=2), _conv(ch_in, ch_out, 1)))


def down_block(ch_in: int, ch_out: int, down: bool) -> Residual:
    pool = [nn.AvgPool2d(2)] if down else []
    residual = nn.Sequential(nn.ReLU(), _conv(ch_in, ch_out), nn.ReLU(), _conv(ch_out, ch_out), *pool)
    changes = down or ch_in != ch_out
    return Residual(residual, nn.Sequential(_conv(ch_in, ch_out, 1), *pool) if changes else nn.Identity())


def first_block(ch_in: int, ch_out: int) -> Residual:
    """The optimized block on the image: no ReLU before its first conv, the shortcut pooled before its 1x1 conv."""
    residual = nn.Sequential(_conv(ch_in, ch_out), nn.ReLU(), _conv(ch_out, ch_out), nn.AvgPool2d(2))
    return Residual(residual, nn.Sequential(nn.AvgPool2d(2), _conv(ch_in, ch_out, 1)))


class SumPool(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.sum((2, 3))


class ResNetGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: list[int], width: int = 256):
        super().__init__()
        channels, image_size = shape[0], shape[-1]
        self.z_dim, self.width = z_dim, width
        self.side, ups, _ = PLANS[image_size]
        self.project = nn.Linear(z_dim, width * self.side**2)
        self.body = nn.Sequential(*[up_block(width, width) for _ in range(ups)], nn.BatchNorm2d(width), nn.ReLU(),
                                  _conv(width, channels), nn.Tanh())

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        positive(args, "z_dim")
        check_size(args, cfg)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.project(z).view(-1, self.width, self.side, self.side))


class ResNetDiscriminator(Discriminator):
    def __init__(self, shape: list[int], width: int = 128):
        channels, image_size = shape[0], shape[-1]
        _, _, downs = PLANS[image_size]
        blocks = [first_block(channels, width), *[down_block(width, width, True) for _ in range(downs - 1)],
                  down_block(width, width, False), down_block(width, width, False)]
        super().__init__(nn.Sequential(*blocks, nn.ReLU(), SumPool()), width)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        check_size(args, cfg)
