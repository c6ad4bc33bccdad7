"""The players' optimizers: one for G and one for D, each over the parameters of its player's networks
(`GAN.player_modules`), of the class and settings that `optimizer=` names, and the optional linear decay of their
learning rates to 0 at `optimizer.lr_decay_steps`."""
import inspect

import hydra.utils
import torch
from torch import Tensor

from gan_runner.modules.rules import linear_decay


def configure(opt_cfg: dict, g_params: list[Tensor], d_params: list[Tensor]):
    """What Lightning's `configure_optimizers` returns: (G's, D's) optimizers (G's alone for a variant without D:
    no `d_params`), and their schedulers with `lr_decay=linear`."""
    cls = hydra.utils.get_class(opt_cfg["cls"])
    kwargs = dict(opt_cfg.get("kwargs") or {})
    if "foreach" in inspect.signature(cls).parameters:
        # torch steps CPU tensors one at a time; its foreach kernels (its GPU default) do the same arithmetic,
        # bitwise equal as tests/test_training_rules.py checks, in fewer Python calls.
        kwargs.setdefault("foreach", True)
    players = [cls(params, lr=opt_cfg[f"lr_{side}"], **kwargs) for side, params in (("g", g_params),
                                                                                   ("d", d_params)) if params]
    if opt_cfg.get("lr_decay", "none") == "linear":
        decay = linear_decay(opt_cfg["lr_decay_steps"])
        return players, [torch.optim.lr_scheduler.LambdaLR(opt, decay) for opt in players]
    return tuple(players) if len(players) > 1 else players[0]
