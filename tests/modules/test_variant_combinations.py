"""Every variant takes real training steps with every constraint family (a penalty, a wrapper, clipping) on 8 px
digits, on DCGAN and MLP nets; the configs each variant refuses are refused in one line."""
import pytest
import torch

from gan_runner.constraints import score_parameters
from gan_runner.errors import UserError
from gan_runner.validate import validate

DIGITS = ["data=digits", "model.width=8"]
VARIANTS = ["cgan", "projection", "acgan", "infogan", "catgan", "semisupervised"]
FAMILIES = ["gp", "sn", "clip", "noise"]
WRAPPERS = {"cgan": "gn", "projection": "gran", "acgan": "gn", "infogan": "gn", "catgan": "[sn,r1]",
            "semisupervised": "[sn,r1]"}


def trains(cfg_factory, train_steps, overrides):
    cfg = cfg_factory(overrides)
    validate(cfg)
    module, before = train_steps(cfg)
    assert module.iteration == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    return module


@pytest.mark.parametrize("constraint", FAMILIES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_trains_with_constraint(cfg_factory, train_steps, variant, constraint):
    module = trains(cfg_factory, train_steps, [*DIGITS, f"variant={variant}", f"constraint={constraint}"])
    if constraint == "clip":  # D's score, not a variant's auxiliary heads (tests/constraints/test_constraint_scope)
        assert all(p.abs().max() <= 0.01 for p in score_parameters(module.discriminator))


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_trains_with_gradient_normalization_or_a_list(cfg_factory, train_steps, variant):
    trains(cfg_factory, train_steps, [*DIGITS, f"variant={variant}", f"constraint={WRAPPERS[variant]}"])


@pytest.mark.parametrize("constraint", [*FAMILIES, "gn"])
def test_cgan_with_labels_at_every_layer_trains_with_constraint(cfg_factory, train_steps, constraint):
    trains(cfg_factory, train_steps, [*DIGITS, "variant=cgan", "variant.labels=every_layer", f"constraint={constraint}",
                                      "model.d_norm=weight"])


@pytest.mark.parametrize("variant, extra", [("cgan", []), ("projection", ["model.g_norm=batch"]), ("acgan", []),
                                            ("infogan", []), ("catgan", ["variant.labelled=20"])])
def test_variant_trains_on_mlp_nets_with_a_loss(cfg_factory, train_steps, variant, extra):
    loss = [] if variant == "catgan" else ["loss=hinge"]
    trains(cfg_factory, train_steps, ["data=digits", "model=mlp", "model.width=16", f"variant={variant}", *loss,
                                      *extra])


@pytest.mark.parametrize("overrides, message", [
    (["variant=cgan", "data=ring", "model=mlp"], "variant=cgan generates given classes, and data=ring has no labels"),
    (["variant=projection", "model=mlp"], "set model.g_norm=batch"),
    (["variant=catgan", "loss=hinge"], "ignore the chosen loss="),
    (["variant=catgan", "constraint=gn"], "constraint gn normalizes a real/fake score"),
    (["variant=infogan", "variant.sigma=free"], "variant.sigma='free' must be fixed"),
    (["variant=infogan", "variant.noise=gaussian"], "variant.noise='gaussian' must be normal"),
    (["variant=infogan", "variant.q_norm=layer"], "variant.q_norm='layer' must be batch"),
    (["variant=infogan", "model.d_fc=-1"], "model.d_fc=-1 must be >= 0"),
    (["variant=acgan", "variant.class_weight=-1"], "variant.class_weight=-1 must be >= 0"),
    (["variant=catgan", "variant.classes=0"], "variant.classes=0 must be > 0"),
    (["variant=cgan", "variant.labels=hidden"], "variant.labels='hidden' is not a place for the labels"),
    (["variant=cgan", "variant.mismatch=-1"], "variant.mismatch=-1 must be >= 0"),
])
def test_impossible_variant_configs_are_refused_in_one_line(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message) as caught:
        validate(cfg_factory([*DIGITS, *overrides]))
    assert "\n" not in str(caught.value)
