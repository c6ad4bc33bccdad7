"""The direction of InfoGAN's information terms: Q (with D's body) and G both maximize E[log Q(c|x)], so a step down
each player's term, alone, must make Q's estimate of the codes better. test_variant_terms.py pins the terms' values;
a term handed to a player with the wrong sign keeps its size and turns that player the other way, which only a
step shows."""
import hydra.utils
import pytest
import torch
import torch.nn.functional as F

from gan_runner.build import build_module
from gan_runner.modules.sides import Batch, Side

STEP = 1e-2


def code_losses(module, z) -> dict[str, float]:
    """-log Q(c|x) of G's samples up to constants, by hand: the categorical code's cross-entropy and half the squared
    error of the continuous codes (Q's fixed sigma 1)."""
    with torch.no_grad():
        out = module.d_part("heads")["q"](module.d_part("trunk")(module.generate(z)))
        code, continuous = module.codes(z)
        k = module.categorical
        return {"cat": F.cross_entropy(out[:, :k], code).item(),
                "cont": 0.5 * (continuous - out[:, k:]).pow(2).sum(1).mean().item()}


@pytest.mark.parametrize("player", ["d", "g"])
def test_infogan_a_step_down_each_information_term_makes_q_estimate_the_codes_better(cfg_factory, player):
    cfg = cfg_factory(["data=digits", "model.width=8", "variant=infogan"])
    torch.manual_seed(0)
    module = build_module(cfg, hydra.utils.instantiate(cfg.data.source))
    net, extra = (module.discriminator, module.d_extra) if player == "d" else (module.generator, module.g_extra)
    z, _ = module.sample_latent(64)
    start = {k: v.clone() for k, v in module.state_dict().items()}
    for kind in ("cat", "cont"):
        module.load_state_dict(start)
        fake = module.generate(z) if player == "g" else module.generate(z).detach()
        terms = extra(Batch(Side(fake, None), Side(fake, None, features=module.d_part("trunk")(fake)), z))
        term = next(value for name, value in terms.items() if name.endswith(f"_{kind}"))
        before = code_losses(module, z)[kind]
        optimizer = torch.optim.SGD(net.parameters(), lr=STEP)
        optimizer.zero_grad()
        term.backward()
        optimizer.step()
        assert code_losses(module, z)[kind] < before, f"{player}'s {kind} term"
