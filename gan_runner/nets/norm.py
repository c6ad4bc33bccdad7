"""Normalization layers selectable by name from config (D: none, batch, layer, instance, weight)."""
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

NORMS = ("none", "batch", "layer", "instance", "weight")


def check_norm(args: dict, name: str = "norm") -> None:
    from gan_runner.checks import ConfigError

    if args.get(name, "none") == "virtual_batch":  # Improved GAN's, as the issue that asked for it spelled it
        raise ConfigError(name, "is not a normalization here: virtual batch norm is a switch of its own, "
                                "model.virtual_batch_norm=true (it replaces G's BatchNorms)")
    if args.get(name, "none") not in NORMS:
        raise ConfigError(name, f"is not a normalization: choose one of {', '.join(NORMS)}")


def feature_norm(kind: str, channels: int, spatial: bool) -> nn.Module:
    """A normalization of `channels` features; `spatial` says whether the input is [N, C, H, W]."""
    if kind == "batch":
        return nn.BatchNorm2d(channels) if spatial else nn.BatchNorm1d(channels)
    if kind == "layer":
        # GroupNorm with one group is LayerNorm over (C, H, W) that does not need the spatial size.
        return nn.GroupNorm(1, channels) if spatial else nn.LayerNorm(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True) if spatial else nn.Identity()
    if kind in ("none", "weight"):
        return nn.Identity()
    raise ValueError(f"unknown normalization {kind!r}: choose one of {', '.join(NORMS)}")


def maybe_weight_norm(layer: nn.Module, kind: str) -> nn.Module:
    """Weight normalization reparametrizes the layer itself instead of adding a layer after it."""
    return weight_norm(layer) if kind == "weight" else layer
