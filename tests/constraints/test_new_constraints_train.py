"""Every new loss and constraint composes from the command line and takes real training steps on both models."""
import hydra.utils
import pytest
import torch
from test_combinations import MODELS

from gan_runner import fgan
from gan_runner.validate import validate

LOSSES = [["loss=fgan", f"loss.divergence={name}"] for name in fgan.DIVERGENCES] + [["loss=rsgan"], ["loss=ragan"]]
CONSTRAINTS = [[f"constraint={name}"] for name in ["lp", "r2", "dragan", "div", "gn", "gran", "noise", "[gn,r1]"]]


@pytest.mark.parametrize("choice", LOSSES + CONSTRAINTS, ids=" ".join)
@pytest.mark.parametrize("model", list(MODELS))
def test_trains(cfg_factory, train_steps, model, choice):
    cfg = cfg_factory([f"model={model}", *MODELS[model], *choice])
    validate(cfg)
    module, before = train_steps(cfg)
    assert module.iteration == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))


def test_noise_anneals_over_the_whole_run_by_default(cfg_factory):
    cfg = cfg_factory(["constraint=noise", "trainer.max_steps=7"])
    assert hydra.utils.instantiate(cfg.constraint.noise).anneal_steps == 7
