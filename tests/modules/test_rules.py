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


def test_historical_averaging_covers_every_network_a_player_trains(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory(["data=ring", "model=mlp", "model.width=8", "variant=vaegan", "loss=minimax",
                                         "optimizer.historical_averaging=0.1"]), steps=1)
    averaged = {id(p) for p in module.g_average.params}
    assert averaged == {id(p) for net in (module.generator, module.encoder) for p in net.parameters()}


def sgd_step(net, grads, lr):
    return [p.detach() - lr * g for p, g in zip(net.parameters(), grads)]


def test_simultaneous_update_takes_both_gradients_at_the_same_point(cfg_factory, train_steps):
    """One simultaneous iteration equals SGD on both players with gradients taken at the initial (G, D), and is far
    from what alternating updates (G's gradient after D's step) would give."""
    import copy

    lr = 0.5
    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=8", "optimizer=sgd", "optimizer.kwargs.momentum=0",
                       f"optimizer.lr_g={lr}", f"optimizer.lr_d={lr}", "optimizer.update=simultaneous",
                       "optimizer.ema_decay=0"])
    module, _, initial = train_steps(cfg, steps=1, keep_initial=True)
    G0, D0, stream = initial
    real = stream.step_batch(0)[0][0]
    torch.manual_seed(0)  # training's stream starts from the seed (see GAN.on_train_start)
    fake = G0(torch.randn(len(real), cfg.model.z_dim))
    d_grads = torch.autograd.grad(module.loss.d_loss(D0(real), D0(fake.detach())), list(D0.parameters()))
    g_grads = torch.autograd.grad(module.loss.g_loss(D0(fake)), list(G0.parameters()), retain_graph=True)
    d_expected, g_expected = sgd_step(D0, d_grads, lr), sgd_step(G0, g_grads, lr)
    for net, expected in ((module.discriminator, d_expected), (module.generator, g_expected)):
        for p, e in zip(net.parameters(), expected):
            torch.testing.assert_close(p.detach(), e, rtol=0, atol=1e-6)

    D1 = copy.deepcopy(D0)
    with torch.no_grad():
        for p, e in zip(D1.parameters(), d_expected):
            p.copy_(e)
    alternating = sgd_step(G0, torch.autograd.grad(module.loss.g_loss(D1(fake)), list(G0.parameters())), lr)
    gap = max((a - e).abs().max().item() for a, e in zip(alternating, g_expected))
    assert gap > 1e-3  # a thousand times the tolerance above: the test can tell the two orders apart
