"""Self-modulation (Chen, Lucic, Houlsby & Gelly 2019, "On Self Modulation for Generative Adversarial Networks"):
every BatchNorm of G loses its learned scale and shift and gets γ(z) and β(z) instead, each a one-hidden-layer MLP
of G's input z (32 ReLU units), so that z modulates every layer. γ(z) = 1 + MLP(z): the paper's γ with its output
bias at 1, written so that an initialization scheme that zeroes biases (model.init=normal) keeps that start."""
from torch import Tensor, nn

from gan_runner.nets.conditioning import LabelledNet, _Labels


def _mlp(z_dim: int, features: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, features))


class SelfModulatedBatchNorm(nn.Module):
    def __init__(self, norm: nn.modules.batchnorm._BatchNorm, z_dim: int, latent: _Labels, hidden: int = 32):
        super().__init__()
        self.norm = type(norm)(norm.num_features, eps=norm.eps, momentum=norm.momentum, affine=False)
        self.gamma, self.beta = _mlp(z_dim, norm.num_features, hidden), _mlp(z_dim, norm.num_features, hidden)
        self._latent = latent

    def forward(self, x: Tensor) -> Tensor:
        z = self._latent.get()
        shape = (x.shape[0], -1, *(1,) * (x.dim() - 2))
        return self.norm(x) * (1 + self.gamma(z)).view(shape) + self.beta(z).view(shape)


class SelfModulated(LabelledNet):
    """G(z) whose BatchNorm layers read z (the net's own input) as a conditional BatchNorm reads labels."""

    def __init__(self, net: nn.Module, z_dim: int):
        super().__init__(net, z_dim, (nn.BatchNorm1d, nn.BatchNorm2d), SelfModulatedBatchNorm)
        self.z_dim = z_dim

    def forward(self, z: Tensor) -> Tensor:
        return super().forward(z, z)


def self_modulated(make_generator):
    """A factory of the same G, self-modulated (its z_dim read from the net it builds)."""
    def build(*args, **kwargs) -> SelfModulated:
        net = make_generator(*args, **kwargs)
        return SelfModulated(net, net.z_dim)
    return build
