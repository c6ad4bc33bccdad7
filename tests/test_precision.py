"""Mixed precision trains as fp32 does, up to rounding: every gradient goes through Lightning's precision plugin."""
import contextlib

import pytest
import torch
from lightning.pytorch.plugins.precision import MixedPrecision

from gan_runner import precision


class ScaledFP32(MixedPrecision):
    """Lightning's fp16 plugin with its loss scaler but fp32 arithmetic: scaling by powers of two is exact, so
    training must match fp32 to the bit if (and only if) every gradient is scaled and unscaled consistently. The
    scale doubles after every step (growth_interval=1), as it can between a simultaneous update's two steps."""

    def __init__(self):
        super().__init__("16-mixed", "cpu", torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=1))

    def forward_context(self):
        return contextlib.nullcontext()


SETTINGS = ["data=ring", "model=mlp", "model.width=16", "optimizer.ema_decay=0"]
CASES = {
    "alternating, gp, 2 D steps": ["constraint=gp", "optimizer.n_critic=2"],
    "simultaneous": ["optimizer.update=simultaneous"],
    "consensus with r1 (its field's gradient is taken inside the step)": [
        "optimizer.update=simultaneous", "optimizer.consensus=0.5", "constraint=r1"],
    "gradient normalization": ["constraint=gn"],
    "r1 and spectral norm": ["constraint=[sn,r1]"],
}


def trained(cfg, train_steps, **trainer_kwargs):
    module, _ = train_steps(cfg, steps=4, **trainer_kwargs)
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_loss_scaler_changes_nothing(cfg_factory, train_steps, case):
    cfg = cfg_factory([*SETTINGS, *CASES[case]])
    plain = trained(cfg, train_steps)
    scaled = trained(cfg, train_steps, plugins=[ScaledFP32()])
    for key in plain:
        torch.testing.assert_close(scaled[key], plain[key], rtol=0, atol=1e-7, msg=key)


def test_bf16_mixed_trains_like_fp32_up_to_rounding(cfg_factory, train_steps):
    cfg = cfg_factory([*SETTINGS, "constraint=gp", "model.width=64"])
    plain = trained(cfg, train_steps)
    half = trained(cfg, train_steps, precision="bf16-mixed")
    gaps = {k: ((half[k] - plain[k]).norm() / plain[k].norm()).item() for k in plain if plain[k].is_floating_point()}
    assert max(gaps.values()) < 1e-2, gaps  # bf16 keeps about 3 significant digits


def test_input_gradients_follow_the_amp_recipe_under_a_loss_scale():
    """An fp16 backward pass whose gradient (2^-26) underflows unscaled, but survives scaled and unscaled in fp32."""
    a = torch.tensor(2.0**-13, dtype=torch.float16)
    x = torch.ones(4, 3, requires_grad=True)

    def outputs(x):
        return ((x.half() * a) * a).float().sum(1)

    assert precision.input_gradient(outputs(x), x, create_graph=False).abs().max() == 0  # lost without a scale
    with precision.loss_scale(torch.amp.GradScaler("cpu", init_scale=2.0**12)):
        grad = precision.input_gradient(outputs(x), x, create_graph=False)
    assert grad.dtype == torch.float32 and torch.equal(grad, torch.full_like(x, 2.0**-26))
