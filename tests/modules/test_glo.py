"""GLO (variant=glo): per-image codes on the sphere, the Laplacian-pyramid L1 on a tiny image by hand, what a step
trains and moves, the Gaussian fitted to the codes, refusals, and a few steps with each option."""
import pytest
import torch

from gan_runner.errors import UserError
from gan_runner.modules.glo import project
from gan_runner.nets.laplacian import laplacian_l1
from gan_runner.validate import validate

DIGITS = ["data=digits", "model=dcgan", "model.width=4", "variant=glo", "optimizer=sgd", "optimizer.lr_g=0.1",
          "metrics.extractor=random"]


def test_codes_go_onto_the_sphere_or_into_the_ball():
    z = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    torch.testing.assert_close(project(z, "sphere"), torch.tensor([[0.6, 0.8], [0.6, 0.8]]))
    torch.testing.assert_close(project(z, "ball"), torch.tensor([[0.6, 0.8], [0.3, 0.4]]))


def test_the_laplacian_l1_of_a_2x2_impulse_by_hand():
    # blur([[1, 0], [0, 0]]) with edges replicated: rows 11/16, 5/16, then columns: [[121, 55], [55, 25]] / 256.
    # band L0 = x - blur = [[135, -55], [-55, -25]] / 256, mean |.| 270 / 1024; residual: its 2x2 mean, 256 / 1024
    x = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert laplacian_l1(x, torch.zeros_like(x), levels=1).item() == pytest.approx(526 / 1024)
    # a constant shift c lives in the low-pass residual alone: every band of a constant image is 0
    image = torch.rand(2, 3, 8, 8)
    assert laplacian_l1(image + 0.25, image, levels=3).item() == pytest.approx(0.25, abs=1e-6)


def test_a_step_trains_g_and_moves_only_the_batch_codes_by_plain_sgd(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory([*DIGITS, "variant.code_lr=3"]), steps=1)
    assert len(module.codes) == 1797 and torch.allclose(module.codes.norm(dim=1), torch.ones(1797))
    index = torch.tensor([0, 5, 9])
    batch = module._play(torch.zeros(3, 1, 8, 8), None, True, index)
    torch.testing.assert_close(batch.z, module.codes[index])  # G's input: the images' own codes
    total, logs = module.g_objective(batch)
    assert total.item() == pytest.approx(laplacian_l1(module.generator(module.codes[index]), batch.real.x).item())
    grads = torch.autograd.grad(total, [module.codes, *module.generator.parameters()])
    assert grads[0][index].abs().sum() > 0 and grads[0].abs().sum(1).nonzero().flatten().tolist() == [0, 5, 9]
    before = module.codes.detach().clone()
    module.codes.grad = grads[0]
    module.after_g_step()
    expected = project(before[index] - 3 * grads[0][index], "sphere")
    torch.testing.assert_close(module.codes[index].detach(), expected)
    others = torch.ones(len(before), dtype=torch.bool)
    others[index] = False
    assert torch.equal(module.codes[others].detach(), before[others]) and module.codes.grad is None


def test_samples_come_from_the_gaussian_fitted_to_the_codes(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory(DIGITS), steps=1)
    torch.manual_seed(0)
    z, _ = module.sample_latent(40000)
    codes = module.codes.detach()
    torch.testing.assert_close(z.mean(0), codes.mean(0), atol=0.01, rtol=0)
    torch.testing.assert_close(torch.cov(z.T), torch.cov(codes.T), atol=0.01, rtol=0)


@pytest.mark.parametrize("overrides, message", [
    (["constraint=gp"], "constraint=gp"), (["constraint=sn"], "constraint=sn"),
    (["data=ring", "model=mlp"], "variant=glo reconstructs images"),
    (["optimizer.update=simultaneous"], "optimizer.update=simultaneous"), (["model.pack=2"], "model.pack=2"),
    (["variant.feature_matching=true"], "variant.feature_matching"), (["variant.projection=cube"], "sphere or ball"),
])
def test_what_it_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory([*DIGITS, *overrides]))


@pytest.mark.parametrize("extra", [[], ["variant.reconstruction=l1", "variant.code_init=gaussian"],
                                   ["variant.reconstruction=l2", "variant.projection=ball", "optimizer=adam"]], ids=str)
def test_a_few_steps_with_each_option(cfg_factory, train_steps, extra):
    cfg = cfg_factory([*DIGITS, *extra])
    validate(cfg)
    module, before = train_steps(cfg, steps=2)
    assert module.iteration == 2 and not list(module.discriminator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    norms = module.codes.detach().norm(dim=1)
    assert (norms <= 1 + 1e-5).all() and ("variant.projection=ball" in extra or torch.allclose(norms, torch.ones(1)))
