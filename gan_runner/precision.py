"""Mixed precision: input gradients taken inside a loss (penalties, gradient normalization) under a loss scaler.

fp16 activations underflow in backward passes unless the loss is scaled. Lightning scales the losses the module
hands to `manual_backward`; gradients taken with torch.autograd.grad inside a loss follow PyTorch's AMP recipe for
gradient penalties instead: scale the output, take the gradient, unscale it
(https://pytorch.org/docs/stable/notes/amp_examples.html#gradient-penalty).
"""
import contextlib
from contextvars import ContextVar

import torch
from torch import Tensor

# The loss scale of the training step in progress: 1 without a scaler (fp32, bf16-mixed) and outside training.
_SCALE: ContextVar[float] = ContextVar("loss_scale", default=1.0)

SUPPORTED = ("32-true", "32", "bf16-mixed", "16-mixed")


@contextlib.contextmanager
def loss_scale(scaler):
    token = _SCALE.set(scaler.get_scale() if scaler is not None else 1.0)
    try:
        yield
    finally:
        _SCALE.reset(token)


def input_gradient(outputs: Tensor, x: Tensor, create_graph: bool) -> Tensor:
    """d outputs.sum() / d x, scaled and unscaled around the backward pass when a loss scaler is active."""
    scale = _SCALE.get()
    (grad,) = torch.autograd.grad(outputs.sum() * scale, x, create_graph=create_graph)
    return grad if scale == 1.0 else grad / scale


def gradients(total: Tensor, inputs: list[Tensor], create_graph: bool) -> list[Tensor]:
    """d total / d each input (zeros where it does not depend on one), by the same recipe: scaled, then unscaled."""
    scale = _SCALE.get()
    grads = torch.autograd.grad(total * scale, inputs, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g if scale == 1.0 else g / scale for x, g in zip(inputs, grads)]


def match_scale(grads: list[Tensor], scaled_with: float, scaler) -> None:
    """Gradients computed under an older loss scale, made to match the scaler's current one.

    A simultaneous update takes both players' gradients before either steps; the first step's scaler update may
    change the scale (growth, or backing off after an overflow) before the second player's gradients are unscaled.
    """
    if scaler is None or not grads:
        return
    current = scaler.get_scale()
    if current != scaled_with:
        torch._foreach_mul_(grads, current / scaled_with)
