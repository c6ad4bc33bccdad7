"""Labels into any net that follows the conventions (a G built from `z_dim` and `shape`, a D that is a
`nets/critic.py: Discriminator`), without a second copy of the net.

- Concatenation (Mirza & Osindero 2014): one-hot y appended to z (`ConcatGenerator`) and to D's input
  (`ConcatCritic`): K constant channels of an image, or K more entries of the vector of a net that flattens its
  input (`flat_input`, the MLP).
- Projection (Miyato & Koyama 2018): D(x, y) = head(phi(x)) + <embed(y), phi(x)> on D's trunk features phi
  (`ProjectionCritic`); spectral normalization covers the embedding like any other weight of D.
- Conditional BatchNorm (de Vries 2017; the projection paper's G): each BatchNorm of G gets a class-dependent
  gain and bias (`norm_conditioned`).
- Labels at every layer (DCGAN's conditional MNIST model, Radford 2016's code): one-hot y appended to the input of
  every linear and convolutional layer of G or D (`labels_at_every_layer`).
The last two replace layers inside the built net (`LabelledNet`), which then reads y from its forward call.
"""
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm


def one_hot(y: Tensor, num_classes: int, like: Tensor) -> Tensor:
    return F.one_hot(y.long(), num_classes).to(like.dtype)


def factory_arg(factory, name: str):
    """An argument the model's config gave a net factory (a Hydra partial), e.g. D's input `shape`."""
    keywords = getattr(factory, "keywords", {})
    if name not in keywords:
        raise TypeError(f"the net factory {factory!r} does not set `{name}`: conditioning needs a net that takes it")
    return keywords[name]


class ConcatGenerator(nn.Module):
    """G(z, y) = net([z, onehot(y)]): the model's G built for z_dim + K inputs."""

    def __init__(self, make_generator, z_dim: int, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.net = make_generator(z_dim=z_dim + num_classes)

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        return self.net(torch.cat([z, one_hot(y, self.num_classes, z)], 1))


class ConcatCritic(nn.Module):
    """D(x, y) = net([x, onehot(y)]): the model's D built for K more input channels (or vector entries)."""

    def __init__(self, make_discriminator, num_classes: int):
        super().__init__()
        shape = list(factory_arg(make_discriminator, "shape"))
        self.num_classes = num_classes
        self.flat = bool(getattr(getattr(make_discriminator, "func", make_discriminator), "flat_input", False))
        grown = [math.prod(shape) + num_classes] if self.flat else [shape[0] + num_classes, *shape[1:]]
        self.net = make_discriminator(shape=grown)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        code = one_hot(y, self.num_classes, x)
        if self.flat:
            return self.net(torch.cat([x.flatten(1), code], 1))
        planes = code.view(*code.shape, *(1,) * (x.dim() - 2)).expand(-1, -1, *x.shape[2:])
        return self.net(torch.cat([x, planes], 1))


class ProjectionCritic(nn.Module):
    """D(x, y) = head(phi(x)) + <embed(y), phi(x)>, phi = the net's trunk (Miyato & Koyama 2018, eq. 3)."""

    def __init__(self, net: nn.Module, num_classes: int):
        super().__init__()
        self.net = net
        self.embed = nn.Embedding(num_classes, net.feature_dim)
        nn.init.xavier_uniform_(self.embed.weight)  # as the authors' code (chainer's EmbedID with GlorotUniform)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        h = self.net.trunk(x)
        return self.net.head(h).squeeze(1) + (self.embed(y) * h).sum(1)


class _Labels:
    """The labels of the current pass, shared by a net wrapper and the layers inside the net that read them."""

    y: Tensor | None = None

    def get(self) -> Tensor:
        if self.y is None:
            raise RuntimeError("a class-conditional layer ran without labels: call the net as net(input, y)")
        return self.y


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine map, then gain[y] and bias[y] per class (identity at initialization)."""

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm, num_classes: int, labels: _Labels):
        super().__init__()
        self.norm = type(norm)(norm.num_features, eps=norm.eps, momentum=norm.momentum, affine=False)
        self.gain = nn.Embedding(num_classes, norm.num_features)
        self.bias = nn.Embedding(num_classes, norm.num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)
        self._labels = labels

    def forward(self, x: Tensor) -> Tensor:
        y = self._labels.get()
        shape = (x.shape[0], -1, *(1,) * (x.dim() - 2))
        return self.norm(x) * self.gain(y).view(shape) + self.bias(y).view(shape)


def _grown(layer: nn.Module, extra: int) -> nn.Module:
    """A fresh layer like `layer` that takes `extra` more input features (channels), weight norm kept."""
    if isinstance(layer, nn.Linear):
        grown = nn.Linear(layer.in_features + extra, layer.out_features, bias=layer.bias is not None)
    else:
        if layer.groups != 1:
            raise ValueError(f"labels cannot be appended to the input of a grouped convolution ({layer})")
        options = dict(kernel_size=layer.kernel_size, stride=layer.stride, padding=layer.padding,
                       dilation=layer.dilation, bias=layer.bias is not None, padding_mode=layer.padding_mode)
        if isinstance(layer, nn.ConvTranspose2d):
            options["output_padding"] = layer.output_padding
        grown = parametrize.type_before_parametrizations(layer)(layer.in_channels + extra, layer.out_channels,
                                                                **options)
    return weight_norm(grown) if parametrize.is_parametrized(layer) else grown


class LabelConcatLayer(nn.Module):
    """A linear or convolutional layer whose input gets the one-hot labels appended (constant planes for a conv),
    as in the conditional MNIST model of DCGAN's code (Newmu/dcgan_code, mnist/train_cond_dcgan.py)."""

    def __init__(self, layer: nn.Module, num_classes: int, labels: _Labels):
        super().__init__()
        self.layer = _grown(layer, num_classes)
        self.num_classes = num_classes
        self._labels = labels

    def forward(self, x: Tensor) -> Tensor:
        code = one_hot(self._labels.get(), self.num_classes, x)
        code = code.view(*code.shape, *(1,) * (x.dim() - 2)).expand(-1, -1, *x.shape[2:])
        return self.layer(torch.cat([x, code], 1))


class LabelledNet(nn.Module):
    """net(input, y): the model's net with every layer of the given kinds replaced by one that reads y."""

    def __init__(self, net: nn.Module, num_classes: int, kinds: tuple[type, ...], replace):
        super().__init__()
        self.net = net
        self._labels = _Labels()
        found = [(name, m) for name, m in net.named_modules() if isinstance(m, kinds)]
        if not found:
            raise ValueError(f"{type(net).__name__} has no {' or '.join(k.__name__ for k in kinds)} layer "
                             "to condition on the labels")
        for name, module in found:
            parent, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent), child, replace(module, num_classes, self._labels))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        self._labels.y = y
        try:
            return self.net(x)
        finally:
            self._labels.y = None


def norm_conditioned(net: nn.Module, num_classes: int) -> LabelledNet:
    """G(z, y): every BatchNorm of the model's G replaced by a class-conditional one."""
    return LabelledNet(net, num_classes, (nn.BatchNorm1d, nn.BatchNorm2d), ConditionalBatchNorm)


def labels_at_every_layer(net: nn.Module, num_classes: int) -> LabelledNet:
    """G(z, y) or D(x, y): the one-hot labels appended to the input of every linear and convolutional layer."""
    return LabelledNet(net, num_classes, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d), LabelConcatLayer)
