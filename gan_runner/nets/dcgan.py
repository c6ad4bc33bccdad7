"""DCGAN (Radford 2016) at 8, 16, 28, 32 or 64 px: strided convs, no pooling, no FC but the projection (G may add
one before it and D one before its heads, as InfoGAN's nets do), BatchNorm + ReLU in G, tanh output, LeakyReLU in
D, D normalization chosen from config.

Kernel 4 (padding 1) halves and doubles sides exactly; kernel 5 (padding 2) is DCGAN-tensorflow's, the code behind
PacGAN's and VEEGAN's Stacked MNIST nets: each side the ceiling of half the one before, as TF's SAME padding makes
it (28, 14, 7, 4, 2 in four stages), G's transposed convs given the output padding that lands on those sides."""
import math

from torch import Tensor, nn

from gan_runner.checks import ConfigError, non_negative, positive
from gan_runner.nets.critic import Discriminator, check_leak, check_noise, hidden_noise
from gan_runner.nets.norm import check_norm, feature_norm, maybe_weight_norm

# image size -> number of 2x up/down-sampling stages when model.stages=0 (a first feature map of 4 or 7 px)
SIZES = {8: 1, 16: 2, 28: 2, 32: 3, 64: 4}
KERNELS = (4, 5)


def check_size(args: dict) -> None:
    if args.get("kernel", 4) not in KERNELS:
        raise ConfigError("kernel", f"must be one of {KERNELS}: 4 (PyTorch's DCGAN) or 5 (DCGAN-tensorflow's)")
    non_negative(args, "stages")
    if not args.get("stages") and args["shape"][-1] not in SIZES:
        raise ConfigError("shape", f"is not a size dcgan supports: set data.image_size to one of {sorted(SIZES)}, "
                                   "or model.stages")
    problem = _problem(_sides(args["shape"][-1], args.get("stages", 0)), args.get("kernel", 4))
    if problem:
        raise ConfigError("stages", problem)


def _sides(image_size: int, stages: int) -> list[int]:
    sides = [image_size]
    for _ in range(stages or SIZES[image_size]):
        sides.append(math.ceil(sides[-1] / 2))
    return sides


def _problem(sides: list[int], kernel: int) -> str | None:
    if kernel == 4 and any(side % 2 for side in sides[:-1]):
        return f"gives sides {sides}, and kernel 4 halves only even sides: take fewer stages or model.kernel=5"
    if sides[-1] < 2:
        return f"shrinks {sides[0]} px to {sides[-1]}: take fewer stages"
    return None


def plan(image_size: int, kernel: int = 4, stages: int = 0) -> list[int]:
    """The feature maps' sides from the image down to the first map of G (stages 0: SIZES' count)."""
    if not stages and image_size not in SIZES:
        raise ValueError(f"dcgan supports image sizes {sorted(SIZES)}, got {image_size}: set data.image_size")
    sides = _sides(image_size, stages)
    problem = _problem(sides, kernel)
    if problem:
        raise ValueError(f"dcgan with {stages} stages {problem}")
    return sides


def _upsample(ch_in: int, ch_out: int, kernel: int, side_in: int, side_out: int, bias: bool) -> nn.ConvTranspose2d:
    """A stride-2 transposed conv from `side_in` to `side_out` (2 side_in, or 2 side_in - 1 with kernel 5)."""
    padding = (kernel - 1) // 2
    output_padding = side_out - ((side_in - 1) * 2 - 2 * padding + kernel)
    return nn.ConvTranspose2d(ch_in, ch_out, kernel, 2, padding, output_padding=output_padding, bias=bias)


class DCGANGenerator(nn.Module):
    """z [N, z_dim] -> images of `shape` [C, H, W] (square)."""

    def __init__(self, z_dim: int, shape: list[int], width: int = 64, fc: int = 0, kernel: int = 4, stages: int = 0):
        super().__init__()
        channels, image_size = shape[0], shape[-1]
        self.z_dim = z_dim
        sides = plan(image_size, kernel, stages)[::-1]  # G's sides, smallest first
        self.side, stages = sides[0], len(sides) - 1
        self.top = width * 2 ** (stages - 1)
        widths = [z_dim, *([fc] if fc else []), self.top * self.side**2]  # InfoGAN's MNIST G: an FC layer first
        self.project = nn.Sequential(*[layer for n_in, n_out in zip(widths, widths[1:]) for layer in
                                       (nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU(True))])
        layers: list[nn.Module] = []
        ch = self.top
        for side_in, side_out in zip(sides[:-2], sides[1:-1]):
            layers += [_upsample(ch, ch // 2, kernel, side_in, side_out, bias=False), nn.BatchNorm2d(ch // 2),
                       nn.ReLU(True)]
            ch //= 2
        layers += [_upsample(ch, channels, kernel, sides[-2], sides[-1], bias=True), nn.Tanh()]
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
                 noise: float = 0.0, kernel: int = 4, stages: int = 0):
        channels, image_size = shape[0], shape[-1]
        sides = plan(image_size, kernel, stages)
        side, stages = sides[-1], len(sides) - 1
        layers: list[nn.Module] = []
        ch_in, ch = channels, width
        for i in range(stages):
            # DCGAN leaves the first D layer unnormalized.
            layer_norm = "none" if i == 0 else norm
            layers += [maybe_weight_norm(nn.Conv2d(ch_in, ch, kernel, 2, (kernel - 1) // 2), layer_norm),
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
