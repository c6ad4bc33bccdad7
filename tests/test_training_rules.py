"""The training step's rules, each checked so that breaking it fails a test: n_critic D steps and g_steps G steps per
iteration, the EMA's
direction, a new shuffle every epoch."""
import pytest
import torch

from gan_runner.data.stream import BatchStream
from gan_runner.data.toy import ring


@pytest.mark.parametrize("n_critic, g_steps", [(1, 1), (3, 1), (1, 2)])
def test_d_takes_n_critic_steps_and_g_takes_g_steps_per_iteration(cfg_factory, train_steps, n_critic, g_steps):
    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=8", f"optimizer.n_critic={n_critic}",
                       f"optimizer.g_steps={g_steps}"])
    module, _ = train_steps(cfg, steps=4)
    opt_g, opt_d = module.optimizers()
    steps = {name: {int(s["step"]) for s in opt.optimizer.state.values()} for name, opt in (("g", opt_g), ("d", opt_d))}
    assert steps == {"g": {4 * g_steps}, "d": {4 * n_critic}}
    reals = BatchStream(ring(n=1000), 16, n_critic, 4, seed=0).step_batch(0)[0]
    assert reals.shape[0] == n_critic and len({tuple(r.flatten()[:4].tolist()) for r in reals}) == n_critic


def test_ema_moves_a_small_step_towards_the_generator(cfg_factory):
    import hydra.utils

    from gan_runner.build import build_module

    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=8", "optimizer.ema_decay=0.999"])
    module = build_module(cfg, hydra.utils.instantiate(cfg.data.source))
    module.on_fit_start()
    with torch.no_grad():
        for p in module.generator.parameters():
            p.fill_(1.0)
        for p in module.ema.parameters():
            p.fill_(0.0)
    module.iteration = 100_000  # past the warm-up, (1 + t) / (10 + t) > 0.999: the decay is 0.999 itself
    module._moving_average.update(module.iteration)
    for p in module.ema.parameters():
        torch.testing.assert_close(p, torch.full_like(p, 1e-3), rtol=1e-5, atol=0)
    module.iteration = 0  # warm-up: decay min(0.999, 1/10), so a new EMA follows G closely
    module._moving_average.update(module.iteration)
    for p in module.ema.parameters():
        torch.testing.assert_close(p, torch.full_like(p, 1e-3 + 0.9 * (1 - 1e-3)), rtol=1e-5, atol=0)


def test_every_epoch_is_a_new_shuffle_of_every_sample():
    data = ring(n=64)
    stream = BatchStream(data, batch_size=16, per_step=1, total_steps=12, seed=0)
    epochs = [torch.cat([stream._indices(e * 4 + k) for k in range(4)]) for e in range(3)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(64))  # each sample once per epoch
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[1], epochs[2])
    assert not torch.equal(epochs[0], torch.arange(64))
    again = BatchStream(data, batch_size=16, per_step=1, total_steps=12, seed=0)
    assert torch.equal(again._indices(5), stream._indices(5))  # a pure function of (seed, batch number)


def test_a_critic_with_scores_of_the_wrong_shape_fails_loudly(cfg_factory):
    """[B, 1] scores against [B] labels would broadcast to [B, B] inside a loss and train on nonsense."""
    from torch import nn

    from gan_runner.constraints import Constraints
    from gan_runner.losses import NonSaturating
    from gan_runner.modules.gan import GAN, CriticShapeError

    class Unsqueezed(nn.Module):
        def forward(self, x):
            return x.sum(1, keepdim=True)

    module = GAN(generator=lambda: nn.Linear(2, 2), discriminator=Unsqueezed, loss=NonSaturating(),
                 constraints=Constraints([]), optimizer={}, z_dim=2)
    with pytest.raises(CriticShapeError, match=r"scores of shape \(5, 1\) for 5 samples: it must return one score"):
        module.critic(torch.randn(5, 2))


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd", "gd"])
def test_optimizers_step_all_tensors_at_once_with_the_arithmetic_of_one_at_a_time(cfg_factory, train_steps,
                                                                                  optimizer):
    """The runner asks torch for its foreach kernels (on CPU torch steps one tensor at a time): same weights, bit
    for bit."""
    base = ["data=digits", "model=dcgan", "model.width=8", "model.d_norm=batch", f"optimizer={optimizer}"]
    module, _ = train_steps(cfg_factory(base), steps=3)
    assert all(group["foreach"] for opt in module.optimizers() for group in opt.optimizer.param_groups)
    loop, _ = train_steps(cfg_factory([*base, "+optimizer.kwargs.foreach=false"]), steps=3)
    for ours, theirs in zip(module.state_dict().values(), loop.state_dict().values()):
        assert torch.equal(ours, theirs)
