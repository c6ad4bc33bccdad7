"""Improved GAN's feature matching (variant.feature_matching=true, any variant): G's term on hand-made features,
that it replaces the loss's G term and trains G alone, and that every variant takes it."""
import pytest
import torch

from gan_runner.ensemble.support import unsupported
from gan_runner.modules.feature_matching import feature_distance

TOY = ["data=ring", "model=mlp", "model.width=8"]


def test_the_distance_is_the_squared_norm_of_the_difference_of_the_feature_means():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
    assert feature_distance(real, fake).item() == pytest.approx(1.0 + 4.0)
    assert feature_distance(real, real.flip(0)).item() == 0.0  # the means match, whatever the rows


def test_g_matches_features_instead_of_playing_the_loss(cfg_factory, train_steps):
    module, before = train_steps(cfg_factory([*TOY, "variant.feature_matching=true", "loss=hinge"]), steps=2)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    logged = module.trainer.callback_metrics
    assert "g_feature_matching" in logged and "g_adv" not in logged
    batch = module._play(torch.randn(16, 2), None, train_generator=True)
    total, logs = module.g_objective(batch)
    assert total.item() == pytest.approx(feature_distance(batch.real.features, batch.fake.features).item())
    g_params, d_params = list(module.generator.parameters()), list(module.discriminator.parameters())
    grads = torch.autograd.grad(total, g_params + d_params, allow_unused=True, retain_graph=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads[:len(g_params)])
    assert all(g is None for g in grads[len(g_params):])  # D was frozen: its features of both sides are constants


# each variant's own G terms stay beside it (AC-GAN's class term, InfoGAN's codes, CatGAN's entropies are its
# adversarial terms and go)
@pytest.mark.parametrize("variant, kept", [("cgan", None), ("acgan", "g_class"), ("infogan", "g_info_cat"),
                                           ("catgan", None), ("projection", None)])
def test_every_variant_takes_it(cfg_factory, train_steps, variant, kept):
    extra = ["model.g_norm=batch"] if variant == "projection" else []
    cfg = cfg_factory(["data=digits", "model=mlp", "model.width=8", *extra, f"variant={variant}",
                       "variant.feature_matching=true"])
    module, before = train_steps(cfg, steps=1)
    logged = module.trainer.callback_metrics
    assert "g_feature_matching" in logged and (kept is None or kept in logged)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))


@pytest.mark.parametrize("constraint", ["gn", "noise", "gp", "sn", "clip"])
def test_it_trains_under_wrappers_that_differentiate_or_draw_inside_d(cfg_factory, train_steps, constraint):
    """Each constraint family; gn differentiates D inside its forward: the real side's features carry a graph it has
    freed."""
    module, before = train_steps(cfg_factory([*TOY, "variant.feature_matching=true", f"constraint={constraint}"]))
    assert module.iteration == 2 and all(torch.isfinite(p).all() for p in module.generator.parameters())


def test_an_ensemble_refuses_it_in_one_line(cfg_factory):
    assert "feature_matching" in unsupported(cfg_factory([*TOY, "variant.feature_matching=true"]))
