"""Every model x loss x constraint combination composes, instantiates, takes real training steps, and each
constraint leaves its mark: clipped weights, spectrally normalized layers, a penalty in D's loss."""
import itertools

import pytest
import torch
from torch.nn.utils import parametrize

from gan_runner.modules.sides import Batch, Side
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
    assert_marks(module, set(constraint.strip("[]").split(",")) - {"none"}, cfg)


def assert_marks(module, constraints, cfg):
    d = module.discriminator
    layers = [m for m in d.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    assert all(parametrize.is_parametrized(m, "weight") for m in layers) == ("sn" in constraints)
    if "clip" in constraints:
        c = cfg.constraint.clip.c
        assert all(p.abs().max() <= c for p in d.parameters())
    real = torch.rand(8, *cfg.data.shape) * 2 - 1
    z, y = module.sample_latent(8)
    _, logs = module.d_objective(Batch(Side(real, None), Side(module.generate(z, y).detach(), None), z))
    penalties = {"gp": "GradientPenalty", "r1": "R1"}
    for name, term in penalties.items():
        assert (term in logs) == (name in constraints)
        if term in logs:
            assert logs[term].item() > 0


@pytest.mark.parametrize("optimizer", ["adam", "wgan_gp", "rmsprop", "sgd"])
@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_optimizers_and_update_orders(cfg_factory, train_steps, optimizer, update):
    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=16", f"optimizer={optimizer}",
                       f"optimizer.update={update}", "optimizer.n_critic=1"])
    module, _ = train_steps(cfg)
    sampler = module.sampler()
    assert sampler is module.ema and not torch.equal(
        next(module.ema.parameters()), next(module.generator.parameters()))
