"""Fully connected G and D for 2-D toy data and the original 2014 GAN on MNIST."""
import math

from torch import Tensor, nn

from gan_runner.checks import positive
from gan_runner.nets.critic import Discriminator, check_leak, check_noise, hidden_noise
from gan_runner.nets.norm import check_norm, feature_norm, maybe_weight_norm


def _stack(sizes: list[int], act: nn.Module, norm: str, noise: float = 0.0, bias: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [maybe_weight_norm(nn.Linear(n_in, n_out, bias=bias), norm), feature_norm(norm, n_out, False), act,
                   *hidden_noise(noise)]
    return layers


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: list[int], width: int = 256, depth: int = 3, norm: str = "none",
                 output: str = "tanh", hidden_bias: bool = True):
        """`hidden_bias=False`: the hidden layers without biases (PacGAN's G, whose BatchNorm shifts them anyway)."""
        super().__init__()
        self.z_dim, self.shape = z_dim, tuple(shape)
        out = nn.Tanh() if output == "tanh" else nn.Identity()
        self.net = nn.Sequential(*_stack([z_dim] + [width] * depth, nn.ReLU(), norm, bias=hidden_bias),
                                 nn.Linear(width, math.prod(shape)), out)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        positive(args, "z_dim", "width", "depth")
        check_norm(args)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, *self.shape)


class MLPDiscriminator(Discriminator):
    flat_input = True

    def __init__(self, shape: list[int], width: int = 256, depth: int = 3, norm: str = "none", leak: float = 0.2,
                 noise: float = 0.0):
        trunk = nn.Sequential(nn.Flatten(), *_stack([math.prod(shape)] + [width] * depth, nn.LeakyReLU(leak), norm,
                                                    noise))
        super().__init__(trunk, width, leak)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        positive(args, "width", "depth")
        check_norm(args)
        check_leak(args)
        check_noise(args)
