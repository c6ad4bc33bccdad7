"""Every model x loss x constraint combination composes, instantiates and takes real training steps."""
import itertools

import pytest
import torch

from gan_runner.validate import validate

MODELS = {"dcgan": ["data=digits", "model.width=8"], "mlp": ["data=ring", "model.width=16"]}
LOSSES = ["minimax", "ns", "ml", "ls", "hinge", "wasserstein"]
CONSTRAINTS = ["none", "clip", "gp", "r1", "sn", "[sn,gp]"]


@pytest.mark.parametrize("model, loss, constraint", list(itertools.product(MODELS, LOSSES, CONSTRAINTS)))
def test_combination_trains(cfg_factory, train_steps, model, loss, constraint):
    cfg = cfg_factory([f"model={model}", *MODELS[model], f"loss={loss}", f"constraint={constraint}"])
    validate(cfg)
    module, before = train_steps(cfg)
    assert module.iteration == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))


@pytest.mark.parametrize("optimizer", ["adam", "wgan_gp", "rmsprop", "sgd"])
@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_optimizers_and_update_orders(cfg_factory, train_steps, optimizer, update):
    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=16", f"optimizer={optimizer}",
                       f"optimizer.update={update}", "optimizer.n_critic=1"])
    module, _ = train_steps(cfg)
    sampler = module.sampler()
    assert sampler is module.ema and not torch.equal(
        next(module.ema.parameters()), next(module.generator.parameters()))
