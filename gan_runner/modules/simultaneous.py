"""Simultaneous updates (`optimizer.update=simultaneous`): both players' gradients at the same (G, D), then both
players step; with `optimizer.consensus` > 0, consensus optimization's gradients instead (modules/consensus.py)."""
from torch.nn.utils import parametrize

from gan_runner import distributed, precision
from gan_runner.modules import consensus
from gan_runner.modules.sides import Batch, Side


def step(module, real, labels, index, opt_g, opt_d) -> dict:
    batch = module._play(real, labels, True, index)
    for optimizer in (opt_d, opt_g):
        optimizer.zero_grad(set_to_none=True)
    if module.consensus > 0:
        logs = consensus.backward(module, batch, module.consensus)  # both players' gradients + γ∇½‖v‖²
    else:
        logs = _backward(module, batch)
    distributed.average_gradients(module._d_params)
    distributed.average_gradients(module._g_params)
    scaler = module._grad_scaler()
    scale = scaler.get_scale() if scaler is not None else 1.0
    opt_d.step()
    precision.match_scale([p.grad for p in module._g_params if p.grad is not None], scale, scaler)
    opt_g.step()
    module.constraints.after_d_step(module.discriminator)
    return logs


def _backward(module, batch: Batch) -> dict:
    d_batch = Batch(Side(batch.real.x, batch.real.y), Side(batch.fake.x.detach(), batch.fake.y), batch.z)
    with parametrize.cached():
        d_total, d_logs = module.d_objective(d_batch)
    with parametrize.cached():
        g_total, g_logs = module.g_objective(batch)
    module.manual_backward(d_total)  # D's gradients only: the fakes are detached
    module.manual_backward(g_total)  # G's gradients only: D is frozen in G's objective
    return {**d_logs, **g_logs}
