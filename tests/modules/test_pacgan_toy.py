"""PacGAN's toy protocol as a preset (experiment=pacgan_toy) and its maxout D, checked against the authors' code
(fjxmlzn/PacGAN, synthetic_data_experiments): what the composed run is built from."""
import hydra.utils
import pytest
import torch
from torch import nn

from gan_runner.build import build_module
from gan_runner.nets.maxout import Maxout


def test_a_maxout_unit_is_the_maximum_over_its_own_pieces():
    layer = Maxout(3, 4, 5)
    x = torch.randn(6, 3)
    pieces = layer.linear(x).view(6, 4, 5)  # unit j's pieces are outputs 5 j .. 5 j + 4
    assert torch.equal(layer(x), pieces.amax(-1))


@pytest.mark.parametrize("pack", [1, 3])
def test_the_preset_is_the_authors_protocol(cfg_factory, pack):
    cfg = cfg_factory(["experiment=pacgan_toy", f"model.pack={pack}"])
    assert cfg.data.batch_size == 100 * pack and cfg.data.source.n == 100_000 and cfg.data.name == "ring"
    assert (cfg.optimizer.lr_g, cfg.optimizer.lr_d, list(cfg.optimizer.kwargs.betas)) == (1e-4, 1e-4, [0.8, 0.999])
    assert cfg.optimizer["update"] == "simultaneous" and cfg.loss._target_.endswith("NonSaturating")
    assert cfg.metrics.num_samples == 2500 and cfg.trainer.max_steps == 400_000
    module = build_module(cfg, hydra.utils.instantiate(cfg.data.source))
    linears = [m for m in module.generator.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features, m.bias is not None) for m in linears] == \
        [(2, 400, False), (400, 400, False), (400, 400, False), (400, 400, False), (400, 2, True)]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in module.generator.modules()) == 4
    maxouts = [m for m in module.discriminator.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.width, m.pieces) for m in maxouts] == [(2 * pack, 200, 5), (200, 200, 5),
                                                                              (200, 200, 5)]
    assert not any(isinstance(m, nn.BatchNorm1d) for m in module.discriminator.modules())
    std = torch.cat([m.linear.weight.flatten() for m in maxouts]).std().item()
    assert std == pytest.approx(0.02, rel=0.05)  # N(0, 0.02) weights
