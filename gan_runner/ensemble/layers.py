"""K copies of a net as one: each layer holds its K members' weights stacked, and one call runs every member.

Two layouts, each chosen so that a layer is one kernel call over all members (the pattern of HFTA, Wang et al.
MLSys 2021):
- flat features [K, N, F]: a linear layer is one batched matrix product (`torch.baddbmm`) over (K, out, in) weights;
- images [N, K*C, H, W]: member k owns channels k*C .. (k+1)*C - 1, so that a convolution (or a transposed one) is
  one grouped convolution with K groups, BatchNorm2d is BatchNorm over K*C channels (each member's statistics) and
  GroupNorm(1, C), the runner's LayerNorm of images, is GroupNorm(K, K*C).
`Flatten` and `Unflatten` move between them. Elementwise layers (activations, tanh) are used as they are.

`stack_layer(members)` turns K plain layers of one type into the stacked layer with their weights, so that member k
starts from exactly the weights the plain net of seed k starts from; a layer under torch's spectral norm becomes the
stacked layer under `StackedSpectralNorm`, with each member's power-iteration vectors.
"""
import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from gan_runner.nets.maxout import Maxout

ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Identity)


def _stacked(tensors: list[Tensor]) -> nn.Parameter:
    return nn.Parameter(torch.stack([t.detach() for t in tensors]).clone())


def _joined(tensors: list[Tensor]) -> nn.Parameter:
    return nn.Parameter(torch.cat([t.detach() for t in tensors]).clone())


class StackedLinear(nn.Module):
    """[K, N, in] -> [K, N, out]."""

    def __init__(self, members: list[nn.Linear]):
        super().__init__()
        self.weight = _stacked([m.weight for m in members])  # [K, out, in]
        self.bias = _stacked([m.bias for m in members]) if members[0].bias is not None else None

    def forward(self, x: Tensor) -> Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight.transpose(1, 2))
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


class StackedConv(nn.Module):
    """A Conv2d or ConvTranspose2d of K members as one grouped convolution, [N, K*C_in, H, W] -> [N, K*C_out, ...]."""

    def __init__(self, members: list[nn.Conv2d | nn.ConvTranspose2d]):
        super().__init__()
        first = members[0]
        if first.groups != 1:
            raise ValueError("stacking grouped convolutions is not supported")
        self.transposed = isinstance(first, nn.ConvTranspose2d)
        self.k = len(members)
        self.stride, self.padding, self.dilation = first.stride, first.padding, first.dilation
        self.output_padding = getattr(first, "output_padding", 0)
        # Conv2d weights are [out, in, ...] and transposed ones [in, out, ...]: both stack along their first axis
        # into the layout a K-group convolution expects.
        self.weight = _joined([m.weight for m in members])
        self.bias = _joined([m.bias for m in members]) if first.bias is not None else None

    def forward(self, x: Tensor) -> Tensor:
        if self.transposed:
            return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                      self.k, self.dilation)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.k)


class StackedBatchNorm(nn.Module):
    """BatchNorm1d on [K, N, F] or BatchNorm2d on [N, K*C, H, W]: each member its own batch statistics, affine
    weights and running buffers (stacked into K*C channels)."""

    def __init__(self, members: list[nn.BatchNorm1d | nn.BatchNorm2d]):
        super().__init__()
        first = members[0]
        if first.momentum is None or not first.track_running_stats:
            raise ValueError("only BatchNorm with running statistics and a momentum has a stacked form")
        self.flat = isinstance(first, nn.BatchNorm1d)
        self.eps, self.momentum = first.eps, first.momentum
        self.weight = _joined([m.weight for m in members]) if first.affine else None
        self.bias = _joined([m.bias for m in members]) if first.affine else None
        self.register_buffer("running_mean", torch.cat([m.running_mean for m in members]).clone())
        self.register_buffer("running_var", torch.cat([m.running_var for m in members]).clone())
        # read by no forward (momentum is set), but kept so that a member's checkpoint is its plain net's
        self.register_buffer("num_batches_tracked", first.num_batches_tracked.clone())

    def forward(self, x: Tensor) -> Tensor:
        if self.flat:
            k, n, f = x.shape
            x = x.transpose(0, 1).reshape(n, k * f)
        if self.training:
            self.num_batches_tracked.add_(1)
        y = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum,
                         self.eps)
        return y.reshape(n, k, f).transpose(0, 1) if self.flat else y


class StackedGroupNorm(nn.Module):
    """GroupNorm(G, C) of K members as GroupNorm(K*G, K*C) on [N, K*C, H, W]."""

    def __init__(self, members: list[nn.GroupNorm]):
        super().__init__()
        first = members[0]
        self.groups, self.eps = len(members) * first.num_groups, first.eps
        self.weight = _joined([m.weight for m in members]) if first.affine else None
        self.bias = _joined([m.bias for m in members]) if first.affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.groups, self.weight, self.bias, self.eps)


class StackedLayerNorm(nn.Module):
    """LayerNorm over the last axis of [K, N, F], each member its own affine weights."""

    def __init__(self, members: list[nn.LayerNorm]):
        super().__init__()
        first = members[0]
        self.shape, self.eps = first.normalized_shape, first.eps
        self.weight = _stacked([m.weight for m in members]) if first.elementwise_affine else None
        self.bias = _stacked([m.bias for m in members]) if first.elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        y = F.layer_norm(x, self.shape, None, None, self.eps)
        return y * self.weight.unsqueeze(1) + self.bias.unsqueeze(1) if self.weight is not None else y


class Flatten(nn.Module):
    """[N, K*C, H, W] (images after convolutions) or [K, N, ...] (a flat-input net's input) -> [K, N, F], each
    member's features in the order a plain Flatten gives them."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 4:
            return x.reshape(x.shape[0], self.k, -1).transpose(0, 1)
        return x.flatten(2)


class Unflatten(nn.Module):
    """[K, N, C*H*W] -> [N, K*C, H, W], the inverse of Flatten."""

    def __init__(self, channels: int, side: int):
        super().__init__()
        self.channels, self.side = channels, side

    def forward(self, x: Tensor) -> Tensor:
        k, n = x.shape[:2]
        return x.transpose(0, 1).reshape(n, k * self.channels, self.side, self.side)


def to_images(x: Tensor) -> Tensor:
    """[K, N, C, H, W] (each member's images) -> [N, K*C, H, W]."""
    k, n, c, h, w = x.shape
    return x.transpose(0, 1).reshape(n, k * c, h, w)


def from_images(x: Tensor, k: int) -> Tensor:
    """[N, K*C, H, W] -> [K, N, C, H, W]."""
    n, kc, h, w = x.shape
    return x.reshape(n, k, kc // k, h, w).transpose(0, 1)


class StackedMaxout(nn.Module):
    """Maxout of K members: their linear layers stacked, the maximum over each unit's pieces per member."""

    def __init__(self, members: list[Maxout]):
        super().__init__()
        self.width, self.pieces = members[0].width, members[0].pieces
        self.linear = StackedLinear([m.linear for m in members])

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (self.width, self.pieces)).amax(-1)


STACKED = {nn.Linear: StackedLinear, Maxout: StackedMaxout, nn.Conv2d: StackedConv, nn.ConvTranspose2d: StackedConv,
           nn.BatchNorm1d: StackedBatchNorm, nn.BatchNorm2d: StackedBatchNorm, nn.GroupNorm: StackedGroupNorm,
           nn.LayerNorm: StackedLayerNorm}


class StackedSpectralNorm(nn.Module):
    """torch's spectral-norm parametrization (weight / sigma, sigma from a power iteration on u and v, run in training
    mode) for K members at once: the weight, stacked [K, out, ...] or joined [K*out, ...], holds member k's [out, ...]
    in its k-th block, and each member keeps its own u [out] and v [in*...] (stacked [K, out] and [K, in*...])."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        first = members[0]
        if first.dim != 0:
            raise ValueError("stacked spectral norm takes weights normalized along their first axis only")
        self.k, self.eps, self.n_power_iterations = len(members), first.eps, first.n_power_iterations
        self.register_buffer("_u", torch.stack([m._u for m in members]).clone())
        self.register_buffer("_v", torch.stack([m._v for m in members]).clone())

    @torch.no_grad()
    def _power_method(self, mats: Tensor) -> None:
        for _ in range(self.n_power_iterations):
            self._u = F.normalize(torch.bmm(mats, self._v.unsqueeze(2)).squeeze(2), dim=1, eps=self.eps, out=self._u)
            self._v = F.normalize(torch.bmm(mats.transpose(1, 2), self._u.unsqueeze(2)).squeeze(2), dim=1,
                                  eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        mats = weight.reshape(self.k, self._u.shape[1], -1)
        if self.training:
            self._power_method(mats)
        u, v = self._u.clone(), self._v.clone()
        sigma = torch.bmm(u.unsqueeze(1), torch.bmm(mats, v.unsqueeze(2))).reshape(self.k, 1)
        return (weight.reshape(self.k, -1) / sigma).reshape(weight.shape)


def _stack_spectral(members: list[nn.Module]) -> nn.Module:
    """Layers under torch's spectral norm: their plain forms stacked, the stacked weight under StackedSpectralNorm
    with the members' u and v (registered without the check's forward call, which would run one more iteration)."""
    norms = [m.parametrizations.weight[0] for m in members]
    plain = [parametrize.remove_parametrizations(copy.deepcopy(m), "weight", leave_parametrized=False)
             for m in members]
    stacked = stack_layer(plain)
    parametrize.register_parametrization(stacked, "weight", StackedSpectralNorm(norms), unsafe=True)
    return stacked


def stack_layer(members: list[nn.Module]) -> nn.Module:
    """The stacked layer of K plain layers of one type (their weights copied)."""
    if parametrize.is_parametrized(members[0], "weight"):
        if not all(len(m.parametrizations.weight) == 1 and type(m.parametrizations.weight[0]).__name__
                   == "_SpectralNorm" for m in members):
            raise ValueError("of the weight parametrizations, only torch's spectral norm has a stacked form")
        return _stack_spectral(members)
    kind = type(members[0])
    if any(type(m) is not kind for m in members):
        raise ValueError("members differ in their layers: only copies of one net stack")
    if kind in ELEMENTWISE:
        return members[0]
    if kind is nn.Sequential:
        return nn.Sequential(*(stack_layer(list(layers)) for layers in zip(*members)))
    if kind is nn.Flatten:
        return Flatten(len(members))
    if kind not in STACKED:
        raise ValueError(f"{kind.__name__} has no stacked form")
    return STACKED[kind](members)
