"""G and D of K members as one net, taking and giving each member's tensors along a leading axis: G maps latents
[K, N, z] to samples [K, N, *shape], D samples [K, N, *shape] to scores [K, N]. Inside, convolutional nets work on
images [N, K*C, H, W] (layers.py). `as_one` puts them behind the plain nets' interface, K*N rows in and out."""
import copy

from torch import Tensor, nn

from gan_runner.ensemble.layers import Unflatten, from_images, stack_layer, to_images
from gan_runner.nets.conditioning import ConcatCritic, ConcatGenerator
from gan_runner.nets.critic import Discriminator
from gan_runner.nets.dcgan import DCGANGenerator
from gan_runner.nets.mlp import MLPGenerator


class StackedGenerator(nn.Module):
    def __init__(self, members: list[nn.Module]):
        super().__init__()
        first = members[0]
        self.k, self.z_dim = len(members), first.z_dim
        if isinstance(first, MLPGenerator):
            self.shape, self.images = first.shape, False
            self.net = stack_layer([m.net for m in members])
        elif isinstance(first, DCGANGenerator):
            self.images = True
            self.net = nn.Sequential(stack_layer([m.project for m in members]), Unflatten(first.top, first.side),
                                     stack_layer([m.body for m in members]))
        else:
            raise ValueError(f"{type(first).__name__} has no stacked form: the ensemble takes mlp and dcgan nets")

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z)
        return from_images(out, self.k) if self.images else out.view(*out.shape[:2], *self.shape)


class StackedDiscriminator(nn.Module):
    def __init__(self, members: list[Discriminator]):
        super().__init__()
        first = members[0]
        if len(first.heads):
            raise ValueError("a discriminator with a variant's heads has no stacked form yet")
        self.k, self.flat_input = len(members), first.flat_input
        self.trunk = stack_layer([m.trunk for m in members])
        self.head = stack_layer([m.head for m in members])

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x if self.flat_input else to_images(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(2)


class Members(nn.Module):
    """A stacked net behind the plain net's interface: K*n rows in, member k's n rows to member k, K*n rows out."""

    def __init__(self, stacked: nn.Module, k: int):
        super().__init__()
        self.stacked, self.k = stacked, k

    def forward(self, x: Tensor) -> Tensor:
        out = self.stacked(x.reshape(self.k, -1, *x.shape[1:]))
        return out.reshape(-1, *out.shape[2:])


def as_one(members: list[nn.Module]) -> nn.Module:
    """K plain nets, G or D, as one net on K*n rows. A conditional GAN's label concatenation (ConcatGenerator,
    ConcatCritic) is work per sample: it stays around the members' stacked net, and runs on all K*n rows at once."""
    first = members[0]
    if isinstance(first, (ConcatGenerator, ConcatCritic)):
        outer = copy.deepcopy(first)
        outer.net = as_one([m.net for m in members])
        return outer
    stacked = StackedDiscriminator(members) if isinstance(first, Discriminator) else StackedGenerator(members)
    return Members(stacked, len(members))
