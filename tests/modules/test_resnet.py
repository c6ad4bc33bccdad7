"""model=resnet: SNGAN's ResNet G and D (Miyato et al. 2018, appendix B.4) at 28, 32 and 64 px, their residual
blocks, and real steps with a constraint of each family and with the conditional variants."""
import hydra.utils
import pytest
import torch
from torch import nn

from gan_runner.errors import UserError
from gan_runner.nets.resnet import Residual, down_block, up_block
from gan_runner.validate import validate


def sides(net: nn.Module, x: torch.Tensor) -> list[tuple[int, int]]:
    """(channels, side) after each residual block."""
    found = []
    hooks = [m.register_forward_hook(lambda m, i, out: found.append((out.shape[1], out.shape[-1])))
             for m in net.modules() if isinstance(m, Residual)]
    net(x)
    for hook in hooks:
        hook.remove()
    return found


@pytest.mark.parametrize("size, g_sides, d_sides", [
    (32, [8, 16, 32], [16, 8, 8, 8]),  # SNGAN's CIFAR-10 nets
    (28, [14, 28], [14, 7, 7, 7]),
    (64, [8, 16, 32, 64], [32, 16, 8, 8, 8]),
])
def test_blocks_double_and_halve_the_sides(cfg_factory, size, g_sides, d_sides):
    cfg = cfg_factory(["model=resnet", "data=cifar10", f"data.image_size={size}"])
    generator = hydra.utils.instantiate(cfg.model.generator)
    critic = hydra.utils.instantiate(cfg.model.discriminator)
    z = torch.randn(2, 128)
    assert sides(generator, z) == [(256, s) for s in g_sides]
    images = generator(z)
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert sides(critic, images) == [(128, s) for s in d_sides]
    assert critic(images).shape == (2,) and critic.feature_dim == 128
    if size == 32:  # the published nets' sizes: about 4.3M and 1.05M weights
        assert sum(p.numel() for p in generator.parameters()) == 4_276_739
        assert sum(p.numel() for p in critic.parameters()) == 1_053_825


def test_a_block_adds_its_residual_to_its_shortcut():
    x = torch.randn(2, 4, 6, 6)
    for block, shape in ((up_block(4, 8), (2, 8, 12, 12)), (down_block(4, 4, False), (2, 4, 6, 6))):
        block.eval()
        with torch.no_grad():
            last = [m for m in block.residual if isinstance(m, nn.Conv2d)][-1]
            last.weight.zero_(), last.bias.zero_()  # the residual branch now adds nothing
        assert block(x).shape == shape and torch.allclose(block(x), block.shortcut(x))
    assert isinstance(down_block(4, 4, False).shortcut, nn.Identity)  # same shape: the identity


@pytest.mark.parametrize("overrides", [["constraint=sn"], ["constraint=gp"], ["constraint=clip"], ["constraint=noise"],
                                       ["constraint=gn"], ["variant=projection", "constraint=sn"], ["variant=acgan"],
                                       ["model.minibatch_discrimination=true", "constraint=sn"]],
                         ids=" ".join)
def test_resnet_trains(cfg_factory, train_steps, overrides):
    cfg = cfg_factory(["model=resnet", "model.g_width=8", "model.d_width=8", *overrides])
    validate(cfg)
    module, before = train_steps(cfg)
    assert module.iteration == 2 and all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))


@pytest.mark.parametrize("variant", ["cgan", "acgan"])
def test_the_label_variants_condition_the_resnet_g_through_its_batchnorms(cfg_factory, train_steps, variant):
    """variant.labels=batchnorm: every BatchNorm of G a class-conditional one, z as wide as the model's (no one-hot
    appended), and the same z under two labels gives two images."""
    from gan_runner.nets.conditioning import ConditionalBatchNorm

    key = "labels" if variant == "cgan" else "g_labels"  # acgan's D takes no labels
    cfg = cfg_factory(["model=resnet", "model.g_width=8", "model.d_width=8", f"variant={variant}",
                       f"variant.{key}=batchnorm", "constraint=sn"])
    validate(cfg)
    module, before = train_steps(cfg)
    g = module.generator
    assert any(isinstance(m, ConditionalBatchNorm) for m in g.modules())
    assert not any(type(m) is nn.BatchNorm2d and m.affine for m in g.modules())
    g.eval()
    z = torch.randn(2, cfg.model.z_dim)
    assert not torch.allclose(g(z, torch.tensor([0, 0])), g(z, torch.tensor([3, 3])))
    with pytest.raises(UserError, match="has none: set model.g_norm=batch"):
        validate(cfg_factory(["model=mlp", "data=digits", "model.g_norm=none", f"variant={variant}",
                              f"variant.{key}=batchnorm"]))


def test_its_norms_are_fixed(cfg_factory):
    with pytest.raises(UserError, match="model=resnet has BatchNorm in G and no normalization in D"):
        validate(cfg_factory(["model=resnet", "model.d_norm=batch"]))
