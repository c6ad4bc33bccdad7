"""trainer.sync_batchnorm=true: under DDP, BatchNorm normalizes with the statistics of the global batch, on CPU
(gloo) and GPU alike.

torch's SyncBatchNorm, which Lightning's own sync_batchnorm installs, refuses CPU tensors ("expected input tensor to
be on GPU"). Here each BatchNorm layer in training mode on several ranks takes the mean over every rank's rows, then
the variance as the mean squared deviation from that mean (two passes, as one process computes it: no cancellation),
each with one differentiable mean over the ranks (`distributed.mean_over_ranks`, whose backward makes
`average_gradients` give the global batch's gradients). So N ranks with batch b normalize, update the running
statistics and back-propagate as one process with batch N·b. In eval mode and on one process it is the plain layer:
rank 0's evaluation reaches no collective.

The layers change class in place (BatchNorm2d -> GlobalBatchNorm2d, a subclass): parameters, buffers, hooks and
`isinstance` checks stay as they were, and so do the checkpoint's keys.
"""
import torch
from lightning.pytorch.plugins.layer_sync import LayerSync
from torch import Tensor, nn

from gan_runner import distributed


class _GlobalStatistics:
    """The forward pass of a BatchNorm class whose batch statistics are those of every rank's rows together."""

    def forward(self, x: Tensor) -> Tensor:
        ranks = distributed.world()[1]
        if not self.training or ranks == 1:
            return super().forward(x)
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average, as _BatchNorm does
                factor = 1.0 / float(self.num_batches_tracked)
        dims, shape = [0, *range(2, x.dim())], [1, -1, *[1] * (x.dim() - 2)]
        values = x.float()
        count = values.new_full((1,), x.numel() // x.shape[1], dtype=torch.float64)
        # Means over the ranks of each rank's sums and counts: their ratios are the global batch's statistics.
        sums = distributed.mean_over_ranks(torch.cat([values.sum(dims).double(), count]))
        n = sums[-1]
        mean = sums[:-1] / n
        centred = values - mean.float().view(shape)
        var = distributed.mean_over_ranks(centred.square().sum(dims).double()) / n
        y = centred * torch.rsqrt(var.float() + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.running_mean is not None:
            total = n * ranks  # values per channel in the global batch
            with torch.no_grad():
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
                self.running_var.lerp_((var * total / (total - 1)).to(self.running_var.dtype), factor)  # unbiased
        return y.to(x.dtype)


class GlobalBatchNorm1d(_GlobalStatistics, nn.BatchNorm1d):
    pass


class GlobalBatchNorm2d(_GlobalStatistics, nn.BatchNorm2d):
    pass


class GlobalBatchNorm3d(_GlobalStatistics, nn.BatchNorm3d):
    pass


GLOBAL = {nn.BatchNorm1d: GlobalBatchNorm1d, nn.BatchNorm2d: GlobalBatchNorm2d, nn.BatchNorm3d: GlobalBatchNorm3d}
PLAIN = {synced: plain for plain, synced in GLOBAL.items()}


class GlobalBatchNorm(LayerSync):
    """Lightning's hook for sync_batchnorm: every BatchNorm layer of the module for the fit, and back after it."""

    def apply(self, model: nn.Module) -> nn.Module:
        return _swap(model, GLOBAL)

    def revert(self, model: nn.Module) -> nn.Module:
        return _swap(model, PLAIN)


def _swap(model: nn.Module, classes: dict) -> nn.Module:
    for layer in model.modules():
        if type(layer) in classes:
            layer.__class__ = classes[type(layer)]
    return model
