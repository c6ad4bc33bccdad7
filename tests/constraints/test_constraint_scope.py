"""What the constraints cover: D's score, every layer that computes it (the trunk, the head, a projection's
embedding, CatGAN's K-way head, whose certainty is the score), and not a variant's auxiliary heads (AC-GAN's
classifier, InfoGAN's Q and its BatchNorm), which estimate labels or codes from D's features."""
import hydra.utils
import pytest
import torch
from torch.nn.utils import parametrize

from gan_runner.build import build_module
from gan_runner.constraints import score_parameters
from gan_runner.modules.sides import Side

DIGITS = ["data=digits", "model.width=8"]
SCORE = {"gan": ["head"], "projection": ["embed"], "acgan": ["head"], "infogan": ["head"], "catgan": ["head"]}
HEADS = {"acgan": "classes", "infogan": "q"}


def trained(cfg_factory, train_steps, variant, constraint):
    module, _ = train_steps(cfg_factory([*DIGITS, f"variant={variant}", f"constraint={constraint}"]))
    return module


def built(cfg_factory, variant, constraint):
    cfg = cfg_factory([*DIGITS, f"variant={variant}", f"constraint={constraint}"])
    data = hydra.utils.instantiate(cfg.data.source)
    return build_module(cfg, data), data


@pytest.mark.parametrize("variant", SCORE)
def test_clip_clamps_every_parameter_of_the_score_and_no_auxiliary_head(cfg_factory, train_steps, variant):
    module = trained(cfg_factory, train_steps, variant, "clip")
    score = score_parameters(module.discriminator)
    assert {id(p) for p in score} >= {id(p) for part in SCORE[variant] for p in module.d_part(part).parameters()}
    assert all(p.abs().max() <= 0.01 for p in score)
    if variant in HEADS:
        head = module.d_part("heads")[HEADS[variant]]
        assert not {id(p) for p in head.parameters()} & {id(p) for p in score}
        assert max(p.abs().max() for p in head.parameters()) > 0.05  # trained, unclipped (PyTorch's init: ~0.1)
        score_ids = {id(p) for p in score}
        assert {id(p) for p in module.discriminator.parameters()} - score_ids == {id(p) for p in head.parameters()}


@pytest.mark.parametrize("variant", SCORE)
def test_spectral_norm_normalizes_every_layer_of_the_score_and_no_auxiliary_head(cfg_factory, variant):
    module, _ = built(cfg_factory, variant, "sn")
    layers = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Embedding)
    heads = module.d_part("heads")
    in_heads = {id(m) for m in heads.modules()}
    score = [m for m in module.discriminator.modules() if isinstance(m, layers) and id(m) not in in_heads]
    assert len(score) >= 2 and all(parametrize.is_parametrized(m, "weight") for m in score)
    for part in SCORE[variant]:
        assert parametrize.is_parametrized(module.d_part(part), "weight"), part
    head_layers = [m for m in heads.modules() if isinstance(m, layers)]
    assert bool(head_layers) == (variant in HEADS)
    assert not any(parametrize.is_parametrized(m) for m in head_layers)


@pytest.mark.parametrize("variant", HEADS)
def test_gradient_normalization_normalizes_the_score_and_the_heads_read_the_raw_features(cfg_factory, variant):
    module, data = built(cfg_factory, variant, "gn")
    index = torch.arange(12)
    x, y = data.samples(index), data.y[index]
    side = Side(x, y)
    module._score(side)
    torch.testing.assert_close(side.features, module.d_part("trunk")(x))  # what every head reads
    raw = module.d_part("head")(side.features).squeeze(1)
    assert side.score.abs().max() <= 1 and not torch.allclose(side.score, raw)  # |f / (|grad f| + |f|)| <= 1
