"""GLO (variant=glo): per-image codes on the sphere, the Laplacian-pyramid L1 on a tiny image by hand, what a step
trains and moves, the Gaussian fitted to the codes, refusals, and a few steps with each option."""
import lightning.pytorch as L
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
    # G's learning-rate schedule scales the codes' step too (optimizer.lr_decay): at half G's rate, half the step
    module.optimizers().param_groups[0]["lr"] = module.opt_cfg["lr_g"] / 2
    before, module.codes.grad = module.codes.detach().clone(), grads[0]
    module.after_g_step()
    torch.testing.assert_close(module.codes[index].detach(), project(before[index] - 1.5 * grads[0][index], "sphere"))


def test_samples_come_from_the_gaussian_fitted_to_the_codes(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory([*DIGITS, "model.z_dim=3"]), steps=1)
    # codes with a clear mean and strong correlations, so that a dropped mean, a diagonal fit or a transposed
    # factor shows: z = (2, -1, 0.5) + A u, u ~ N(0, I)
    mixing = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.3, 0.0], [-0.5, 0.4, 0.2]])
    with torch.no_grad():
        module.codes.copy_(torch.tensor([2.0, -1.0, 0.5]) + torch.randn(len(module.codes), 3) @ mixing.T)
    torch.manual_seed(0)
    z, _ = module.sample_latent(200000)
    codes = module.codes.detach()
    torch.testing.assert_close(z.mean(0), codes.mean(0), atol=0.01, rtol=0)
    torch.testing.assert_close(torch.cov(z.T), torch.cov(codes.T), atol=0.02, rtol=0)


class _BeforeTheStep(L.Callback):
    """The codes and the batch's places as the first step starts."""

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.codes, self.index = module.codes.detach().clone(), batch[2][0]


def test_a_real_step_moves_the_batch_codes_alone_and_g_optimizer_holds_no_code(cfg_factory, train_steps):
    before = _BeforeTheStep()
    module, _ = train_steps(cfg_factory(DIGITS), steps=1, callbacks=[before])
    moved = (module.codes.detach() != before.codes).any(1).nonzero().flatten()
    assert len(before.index) == 16 and sorted(moved.tolist()) == sorted(set(before.index.tolist()))
    held = {id(p) for group in module.optimizers().optimizer.param_groups for p in group["params"]}
    assert id(module.codes) not in held and held == {id(p) for p in module.generator.parameters()}


@pytest.mark.parametrize("overrides, message", [
    (["constraint=gp"], "constraint=gp"), (["constraint=sn"], "constraint=sn"),
    (["data=ring", "model=mlp"], "variant=glo reconstructs images"),
    (["optimizer.update=simultaneous"], "optimizer.update=simultaneous"), (["model.pack=2"], "model.pack=2"),
    (["variant.feature_matching=true"], "variant.feature_matching"), (["variant.projection=cube"], "sphere or ball"),
    (["model.virtual_batch_norm=true"], "model.virtual_batch_norm"),
])
def test_what_it_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory([*DIGITS, *overrides]))


@pytest.mark.parametrize("extra", [[], ["variant.reconstruction=l1", "variant.code_init=gaussian"],
                                   ["variant.reconstruction=l2", "variant.projection=ball", "optimizer=adam",
                                    "optimizer.lr_decay=linear", "optimizer.historical_averaging=0.1"]], ids=str)
def test_a_few_steps_with_each_option(cfg_factory, train_steps, extra):
    cfg = cfg_factory([*DIGITS, *extra])
    validate(cfg)
    module, before = train_steps(cfg, steps=2)
    assert module.iteration == 2 and not list(module.discriminator.parameters())
    assert module.ema is None and module.sampler() is module.generator  # optimizer.ema_decay=0.999: no EMA for GLO
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    norms = module.codes.detach().norm(dim=1)
    assert (norms <= 1 + 1e-5).all() and ("variant.projection=ball" in extra or torch.allclose(norms, torch.ones(1)))


def test_a_finished_run_evaluated_again_loads_its_codes(cfg_factory, seeded_cache, tmp_path):
    from gan_runner import results
    from gan_runner.run import run

    out, settings = tmp_path / "run", [*DIGITS, "trainer.max_steps=2", "metrics.every_n_steps=0",
                                       "metrics.num_samples=100", "trainer.enable_progress_bar=false"]
    run(cfg_factory(settings, out))
    first = results.read(out / "metrics.json")["metrics"]["final"]
    run(cfg_factory([*settings, "metrics.num_samples=120"], out))  # the evaluation changed: evaluated again
    again = results.read(out / "metrics.json")
    assert again["status"] == "completed" and again["metrics"]["final"]["recon_pixel_mse"] > 0
    assert again["metrics"]["final"]["fid"] != first["fid"]  # 120 samples, not the 100 read before
