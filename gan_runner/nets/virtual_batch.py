"""Virtual batch normalization (Salimans et al. 2016, "Improved Techniques for Training GANs", 3.4) in G.

Each example is normalized with the statistics of a reference batch, chosen once at the start of training, joined
with the example itself: per channel, mean = N/(N+1) · the reference's + 1/(N+1) · the example's own, and likewise
the mean square (the weighting of the authors' corrected code, openai/improved-gan imagenet/model.py `VBN`). The
reference batch is N inputs of G drawn once (a buffer: a checkpoint keeps it, as the code's non-trainable z keeps
its) and passed through G before every call with the current weights, so its statistics carry gradients, as there.
An example's output depends on the reference batch and on itself, never on the rest of its batch; the price is one
more pass of N samples through G per call. `model.virtual_batch_norm=true` turns every BatchNorm of G into one.
"""
import torch
from torch import Tensor, nn

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


class VirtualBatchNorm(nn.Module):
    """A BatchNorm's affine map (its initial scale and shift kept) on virtual-batch statistics."""

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        self.eps = norm.eps
        self.weight = nn.Parameter(norm.weight.detach().clone()) if norm.affine else None
        self.bias = nn.Parameter(norm.bias.detach().clone()) if norm.affine else None
        self.collecting = False  # set by VirtualBatchNormed around the reference pass
        self.reference: tuple[Tensor, Tensor, int] | None = None

    def forward(self, x: Tensor) -> Tensor:
        # statistics in float32 whatever the autocast (mean_sq - mean² cancels badly in bf16), as BatchNorm keeps its
        with torch.autocast(x.device.type, enabled=False):
            wide = x if x.dtype in (torch.float32, torch.float64) else x.float()
            return self._normalized(wide).to(x.dtype)

    def _normalized(self, x: Tensor) -> Tensor:
        spatial = tuple(range(2, x.dim()))
        if self.collecting:
            mean, mean_sq = x.mean((0, *spatial), keepdim=True), x.square().mean((0, *spatial), keepdim=True)
            self.reference = (mean, mean_sq, x.shape[0])
        elif self.reference is None:
            raise RuntimeError("a virtual batch norm ran without its reference batch: call it inside "
                               "VirtualBatchNormed")
        else:
            ref_mean, ref_mean_sq, n = self.reference
            own = 1.0 / (n + 1)
            # x.mean(()) would average over every dimension: a vector's own statistics are its entries
            own_mean, own_mean_sq = (x.mean(spatial, keepdim=True), x.square().mean(spatial, keepdim=True)) \
                if spatial else (x, x.square())
            mean = own * own_mean + (1 - own) * ref_mean
            mean_sq = own * own_mean_sq + (1 - own) * ref_mean_sq
        out = (x - mean) / torch.sqrt((mean_sq - mean.square()).clamp_min(0) + self.eps)
        if self.weight is None:
            return out
        shape = (1, -1, *(1,) * len(spatial))
        return out * self.weight.view(shape) + self.bias.view(shape)


class VirtualBatchNormed(nn.Module):
    """G with every BatchNorm a VirtualBatchNorm, and the reference inputs it normalizes with: G's `inputs` (z, and
    the labels of a conditional G; a None, an unconditional G's labels, is left out) for N samples."""

    def __init__(self, net: nn.Module, inputs: tuple[Tensor | None, ...]):
        inputs = tuple(t for t in inputs if t is not None)
        super().__init__()
        found = [(name, m) for name, m in net.named_modules() if isinstance(m, BATCH_NORMS)]
        if not found:
            raise ValueError(f"{type(net).__name__} has no BatchNorm layer for virtual batch norm to replace")
        for name, module in found:
            parent, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent), child, VirtualBatchNorm(module))
        self.net = net
        self.norms = [m for m in net.modules() if isinstance(m, VirtualBatchNorm)]  # a list: registered in net
        self.inputs = len(inputs)
        for i, tensor in enumerate(inputs):
            self.register_buffer(f"reference_{i}", tensor)

    def forward(self, *inputs: Tensor) -> Tensor:
        for layer in self.norms:
            layer.collecting = True
        try:
            self.net(*(getattr(self, f"reference_{i}") for i in range(self.inputs)))
        finally:
            for layer in self.norms:
                layer.collecting = False
        try:
            return self.net(*inputs)
        finally:
            for layer in self.norms:
                layer.reference = None
