"""VAE-GAN (variant=vaegan): its terms on hand-computed tensors, which network each term trains (E: KL + L_llike,
G: γ·L_llike + its GAN term, D: its loss on samples and reconstructions together), and real steps."""
import math

import pytest
import torch

from gan_runner.errors import UserError
from gan_runner.modules.vaegan import gaussian_nll, kl_to_standard_normal
from gan_runner.validate import validate

TOY = ["data=ring", "model=mlp", "model.width=8", "variant=vaegan", "loss=minimax"]


def test_the_kl_to_the_prior_and_the_gaussian_likelihood_by_hand():
    mean, log_var = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])
    # per dimension -½(1 + log σ² - μ² - σ²): 0.5 and 3.5 - log 2 for the first sample, 0 for the standard one
    assert kl_to_standard_normal(mean, log_var).item() == pytest.approx((0.5 + 3.5 - math.log(2.0)) / 2)
    a, b = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    assert gaussian_nll(a, b).item() == pytest.approx((0.5 * 5 + 0.5 * 9) / 2)


def _grads(term, modules):
    params = [p for m in modules for p in m.parameters()]
    return [g if g is not None else torch.zeros_like(p)
            for g, p in zip(torch.autograd.grad(term, params, retain_graph=True, allow_unused=True), params)]


def _g_terms(module, seed=0):
    torch.manual_seed(seed)
    batch = module._play(torch.randn(16, 2), None, train_generator=True)
    return module.g_objective(batch)[1]  # G's own objective: D frozen by it, not by the test


@pytest.mark.parametrize("space", ["critic", "pixel"])
def test_the_encoder_learns_kl_and_the_likelihood_at_weight_1_the_decoder_at_gamma_and_d_none(cfg_factory,
                                                                                               train_steps, space):
    one, _ = train_steps(cfg_factory([*TOY, f"variant.recon_space={space}"]), steps=1)
    terms_1 = _g_terms(one)
    one.gamma = 3.0  # the same module, draws and weights: only γ differs
    three, terms_3 = one, _g_terms(one)
    assert terms_3["g_llike"].item() == pytest.approx(3 * terms_1["g_llike"].item(), rel=1e-5)
    for g1, g3 in zip(_grads(terms_1["g_llike"], [one.generator]), _grads(terms_3["g_llike"], [three.generator])):
        torch.testing.assert_close(g3, 3 * g1, rtol=1e-4, atol=1e-7)  # G: γ·∂L_llike
    for e1, e3 in zip(_grads(terms_1["g_llike"], [one.encoder]), _grads(terms_3["g_llike"], [three.encoder])):
        torch.testing.assert_close(e3, e1, rtol=1e-4, atol=1e-7)  # E: ∂L_llike whatever γ
    assert any(g.abs().sum() > 0 for g in _grads(terms_1["g_llike"], [one.encoder]))
    assert all(g.abs().sum() == 0 for g in _grads(terms_1["g_adv"], [one.encoder]))  # no GAN gradient to E
    assert any(g.abs().sum() > 0 for g in _grads(terms_1["g_adv"], [one.generator]))
    assert any(g.abs().sum() > 0 for g in _grads(terms_1["e_kl"], [one.encoder]))
    assert all(g.abs().sum() == 0 for g in _grads(terms_1["e_kl"], [one.generator]))
    for term in ("g_llike", "g_adv"):  # D's features measure L_llike, and G's step leaves D frozen: no gradient
        assert all(g.abs().sum() == 0 for g in _grads(terms_1[term], [one.discriminator]))


def test_d_scores_samples_and_reconstructions_together_and_g_weighs_its_gan_term(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory([*TOY, "variant.gan_weight=0.5"]), steps=1)
    torch.manual_seed(1)
    batch = module._play(torch.randn(16, 2), None, train_generator=False)
    module._score(batch.real), module._score(batch.fake)
    state = torch.get_rng_state()
    d_adv = module.d_adversarial(batch)["d_adv"]
    torch.set_rng_state(state)  # the same draw of q(z | x) by hand
    with torch.no_grad():
        recon = module.generator(module.encode(batch.real.x)[2])
    fakes = torch.cat([batch.fake.score, module.critic(recon)])
    assert d_adv.item() == pytest.approx(module.loss.d_loss(batch.real.score, fakes).item(), rel=1e-6)
    assert d_adv.item() != pytest.approx(module.loss.d_loss(batch.real.score, batch.fake.score).item())
    state = torch.get_rng_state()
    g_adv = module.g_adversarial(batch, None)["g_adv"]
    torch.set_rng_state(state)
    with torch.no_grad():
        recon = module.generator(module.encode(batch.real.x)[2])
    fakes = torch.cat([batch.fake.score, module.critic(recon)])
    assert g_adv.item() == pytest.approx(0.5 * module.loss.g_loss(fakes).item(), rel=1e-6)


def test_without_reconstructions_discriminated_d_and_g_see_samples_alone(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory([*TOY, "variant.discriminate_recon=false"]), steps=1)
    batch = module._play(torch.randn(16, 2), None, train_generator=False)
    module._score(batch.real), module._score(batch.fake)
    assert module.d_adversarial(batch)["d_adv"].item() == pytest.approx(
        module.loss.d_loss(batch.real.score, batch.fake.score).item(), rel=1e-6)
    assert module.g_adversarial(batch, None)["g_adv"].item() == pytest.approx(
        module.loss.g_loss(batch.fake.score).item(), rel=1e-6)


@pytest.mark.parametrize("extra", [["constraint=gp"], ["constraint=sn"], ["constraint=clip", "loss=wasserstein"],
                                   ["variant.gan_weight=0", "variant.recon_space=pixel"]], ids=str)
def test_a_few_steps_train_every_network(cfg_factory, train_steps, extra):
    cfg = cfg_factory([*TOY, *extra])
    validate(cfg)
    module, _ = train_steps(cfg, steps=2)
    opt_g, _ = module.optimizers()
    trained = {id(p) for group in opt_g.optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in module.encoder.parameters()} <= trained  # E steps with G


def test_reconstructions_are_evaluated_and_drawn(cfg_factory, train_steps, seeded_cache, tmp_path):
    import hydra.utils

    from gan_runner.evaluation import build_evaluation
    cfg = cfg_factory(["data=digits", "model.width=8", "variant=vaegan", "loss=minimax", "metrics.num_samples=200",
                       "metrics.kid_subset_size=100"])
    module, _ = train_steps(cfg, steps=1)
    data = hydra.utils.instantiate(cfg.data.source)
    scores = build_evaluation(cfg.metrics, data, torch.device("cpu"))(module, tmp_path / "final.png")
    assert {"recon_fid", "recon_pixel_mse", "recon_feature_mse"} <= set(scores) and scores["recon_fid"] > 0
    assert (tmp_path / "final_reconstructions.png").exists()


@pytest.mark.parametrize("overrides, message", [
    (["variant.gamma=0"], "gamma"),
    (["variant.recon_space=pixels"], "variant.recon_space='pixels': choose critic"),
    (["model.pack=2"], "variant=vaegan scores or labels each sample itself"),
    (["loss=rsgan"], "variant=vaegan scores two kinds of fakes"),
    (["variant.feature_matching=true"], "drop variant.feature_matching"),
    (["optimizer.update=simultaneous", "optimizer.consensus=0.1"], "set optimizer.consensus=0"),
    (["model.z_prior=uniform"], "set model.z_prior=normal"),
])
def test_what_it_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory([*TOY, *overrides]))
