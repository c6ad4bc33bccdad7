"""PacGAN's Stacked MNIST protocol as a preset (experiment=pacgan_stacked_mnist): DCGAN-tensorflow's nets
(model=dcgan_tf), z ~ U(-1, 1) and two G steps per D step, checked against the authors' code (fjxmlzn/PacGAN,
stacked_MNIST_experiments/VEEGAN_experiment/model.py)."""
import hydra.utils
import pytest
import torch
from torch import nn

from gan_runner.build import build_module
from gan_runner.data.toy import ring


def _sides(net: nn.Module, x: torch.Tensor, kind: type) -> list[tuple[int, int, int]]:
    """(kernel, channels, side) of each layer of `kind` as x passes through `net`."""
    found = []
    hooks = [m.register_forward_hook(lambda m, i, out: found.append((m.kernel_size[0], out.shape[1], out.shape[-1])))
             for m in net.modules() if isinstance(m, kind)]
    net(x)
    for hook in hooks:
        hook.remove()
    return found


@pytest.mark.parametrize("pack", [1, 2])
def test_the_preset_is_the_authors_protocol_and_nets(cfg_factory, pack):
    cfg = cfg_factory(["experiment=pacgan_stacked_mnist", f"model.pack={pack}"])
    assert cfg.data.name == "stacked_mnist" and cfg.data.batch_size == 64 * pack and cfg.model.z_dim == 100
    assert (cfg.optimizer.lr_g, cfg.optimizer.lr_d, list(cfg.optimizer.kwargs.betas)) == (2e-4, 2e-4, [0.5, 0.999])
    assert cfg.optimizer.g_steps == 2 and cfg.optimizer["update"] == "alternating" and cfg.optimizer.n_critic == 1
    assert cfg.loss._target_.endswith("NonSaturating") and cfg.data.eval_samples == 26_000
    generator = hydra.utils.instantiate(cfg.model.generator)
    # 2x2x512 from z, then 5x5 stride-2 deconvolutions through TF's SAME sides 4, 7, 14, 28
    assert generator.side == 2 and generator.top == 512
    assert _sides(generator.body, generator.project(torch.rand(2, 100)).view(2, 512, 2, 2), nn.ConvTranspose2d) == \
        [(5, 256, 4), (5, 128, 7), (5, 64, 14), (5, 3, 28)]
    shape = [3 * pack, 28, 28]
    critic = hydra.utils.instantiate(cfg.model.discriminator, shape=shape)
    assert _sides(critic, torch.randn(2, *shape), nn.Conv2d) == [(5, 64, 14), (5, 128, 7), (5, 256, 4), (5, 512, 2)]
    norms = [type(m) for m in critic.trunk if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    assert norms == [nn.Conv2d, nn.Conv2d, nn.BatchNorm2d, nn.Conv2d, nn.BatchNorm2d, nn.Conv2d, nn.BatchNorm2d]


def test_kernel_4_keeps_the_dcgan_it_was(cfg_factory):
    """model=dcgan's nets are unchanged by the kernel option: 4x4 kernels, 7 -> 14 -> 28 at 28 px."""
    cfg = cfg_factory(["model=dcgan"])
    generator = hydra.utils.instantiate(cfg.model.generator)
    assert _sides(generator.body, torch.randn(2, generator.top, 7, 7), nn.ConvTranspose2d) == [(4, 32, 14), (4, 1, 28)]


def test_a_uniform_prior_draws_z_in_the_cube(cfg_factory):
    for prior, inside in (("uniform", True), ("normal", False)):
        cfg = cfg_factory(["data=ring", "model=mlp", "model.width=8", f"model.z_prior={prior}"])
        z, _ = build_module(cfg, ring(n=100)).sample_latent(4000)
        assert (z.abs().max() <= 1).item() == inside
        assert z.mean().abs() < 0.05 and z.min() < -0.95 and z.max() > 0.95
        if prior == "uniform":
            assert z.var().item() == pytest.approx(1 / 3, rel=0.05)  # U(-1, 1), not U(0, 1)
