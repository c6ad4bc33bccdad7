"""Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", §3.2), before D's score
head: features f(x_i) [N, A] times a tensor T [A, B·C] give M_i [B, C]; kernel b compares sample i with the other
samples of the batch, o_b(x_i) = Σ_{j ≠ i} exp(-‖M_i,b - M_j,b‖₁) + bias_b, and the head scores [f(x_i), o(x_i)].
The self-pair is left out, as the authors' code leaves it (openai/improved-gan, nn.py MinibatchLayer: 1e6 added to
its distances); their T is weight-normalized, its scale and the bias set by a data-dependent first pass, from T ~
N(0, 0.05²) and bias -1, which are this layer's initial values, kept plain. D scores each batch it is given on its
own, so real and fake samples are compared within their own side."""
from functools import partial

import torch
from torch import Tensor, nn


class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features: int, kernels: int = 100, dims: int = 5):
        super().__init__()
        self.kernels, self.dims = kernels, dims
        self.T = nn.Parameter(torch.randn(in_features, kernels * dims) * 0.05)
        self.bias = nn.Parameter(torch.full((kernels,), -1.0))

    def forward(self, f: Tensor) -> Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.dims)
        distance = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)  # [N, N, B]: L1 over the C dims
        closeness = torch.exp(-distance)
        others = closeness.sum(1) - closeness.diagonal(dim1=0, dim2=1).T  # every j but i itself (exp(0) = 1)
        return torch.cat([f, others + self.bias], 1)


def discriminating(make_discriminator, kernels: int, dims: int):
    """A factory of the same D with a minibatch-discrimination layer before its score head."""
    return partial(_with_layer, make_discriminator, kernels, dims)


def _with_layer(make_discriminator, kernels: int, dims: int, *args, **kwargs) -> nn.Module:
    critic = make_discriminator(*args, **kwargs)
    critic.head = nn.Sequential(MinibatchDiscrimination(critic.feature_dim, kernels, dims),
                                nn.Linear(critic.feature_dim + kernels, 1))
    return critic
