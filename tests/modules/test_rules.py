"""Training rules: historical averaging, linear LR decay, EMA, simultaneous updates."""
import pytest
import torch
from torch import nn

from gan_runner.modules.rules import HistoricalAverage, linear_decay


def test_historical_average_is_the_running_mean_of_past_parameters():
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    avg = HistoricalAverage([p], weight=0.5)
    seen = [p.detach().clone()]
    for value in ([3.0, 0.0], [5.0, 4.0]):
        with torch.no_grad():
            p.copy_(torch.tensor(value))
        seen.append(p.detach().clone())
        avg.update()
    mean = torch.stack(seen).mean(0)
    torch.testing.assert_close(avg.mean_0, mean)
    assert avg.penalty().item() == pytest.approx(0.5 * ((p.detach() - mean) ** 2).sum().item())
    assert "mean_0" in avg.state_dict()  # saved with checkpoints, so resume is exact


def test_linear_decay_reaches_zero_at_the_last_step():
    f = linear_decay(100)
    assert f(0) == 1.0 and f(50) == 0.5 and f(100) == 0.0 and f(150) == 0.0


def test_linear_decay_and_averaging_in_training(cfg_factory, train_steps):
    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=16", "optimizer.lr_decay=linear",
                       "optimizer.historical_averaging=0.1", "trainer.max_steps=4"])
    module, _ = train_steps(cfg, steps=4)
    opt_g, opt_d = module.optimizers()
    assert opt_g.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert module.g_average.count.item() == 5 and module.d_average.count.item() == 5


def test_simultaneous_update_takes_both_gradients_at_the_same_point(cfg_factory):
    """One simultaneous step equals SGD on both players with gradients taken at the initial (G, D)."""
    import copy

    import hydra.utils

    from gan_runner.build import build_module

    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=8", "optimizer.ema_decay=0"])
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data)
    G0, D0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    opt_g = torch.optim.SGD(module.generator.parameters(), lr=0.1)
    opt_d = torch.optim.SGD(module.discriminator.parameters(), lr=0.1)
    real = data.x[:16]
    torch.manual_seed(3)
    module._simultaneous_step(real, None, opt_g, opt_d)

    torch.manual_seed(3)
    z = torch.randn(16, cfg.model.z_dim)
    fake = G0(z)
    d_grads = torch.autograd.grad(module.loss.d_loss(D0(real), D0(fake.detach())), list(D0.parameters()))
    g_grads = torch.autograd.grad(module.loss.g_loss(D0(fake)), list(G0.parameters()))
    for net, net0, grads in ((module.discriminator, D0, d_grads), (module.generator, G0, g_grads)):
        for p, p0, g in zip(net.parameters(), net0.parameters(), grads):
            torch.testing.assert_close(p.detach(), p0.detach() - 0.1 * g)
