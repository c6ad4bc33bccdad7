"""Initial weights, by name (model.init): `torch`, each layer's PyTorch default (Kaiming-uniform for convolutions
and linear layers), or `normal`, the DCGAN paper's "zero-centered Normal distribution with standard deviation
0.02" (Radford 2016, section 4), which InfoGAN's official code also uses: conv and linear weights ~ N(0, 0.02),
biases 0, BatchNorm scales ~ N(1, 0.02) and shifts 0. Applied to G and to D with every head a variant adds; label
embeddings (projection, conditional BatchNorm) keep their own initialization."""
from torch import nn

INITS = ("torch", "normal")
_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def initialize(net: nn.Module, scheme: str) -> None:
    if scheme == "torch":
        return
    for layer in net.modules():
        if isinstance(layer, _WEIGHTED):
            nn.init.normal_(layer.weight, 0.0, 0.02)
        elif isinstance(layer, _NORMS) and layer.affine:
            nn.init.normal_(layer.weight, 1.0, 0.02)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
