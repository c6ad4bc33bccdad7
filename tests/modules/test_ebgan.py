"""EBGAN (variant=ebgan, loss=energy): its terms on hand-computed tensors, what each term trains, and a few real
steps with every constraint family."""
import pytest
import torch

from gan_runner.constraints import score_parameters
from gan_runner.errors import UserError
from gan_runner.losses import Energy
from gan_runner.modules.ebgan import pull_away
from gan_runner.validate import validate

EBGAN = ["variant=ebgan", "loss=energy"]


def test_the_margin_loss_pushes_fakes_up_to_the_margin_and_no_further():
    loss = Energy(margin=1.0)
    real, fake = torch.tensor([0.1, 0.3]), torch.tensor([0.5, 2.0])
    assert loss.d_loss(real, fake).item() == pytest.approx(0.2 + (0.5 + 0.0) / 2)  # the fake at 2.0 is past m
    assert loss.g_loss(fake).item() == pytest.approx(1.25)


def test_the_pull_away_term_is_the_mean_squared_cosine_over_pairs_of_different_samples():
    codes = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])  # cosines 0, 1/√2, 1/√2
    # ordered pairs i ≠ j: 2 (0 + 1/2 + 1/2) over 3·2; the diagonal kept would give 5/6 or 5/9, unsquared 0.47
    assert pull_away(codes).item() == pytest.approx(1 / 3)
    assert pull_away(torch.tensor([[1.0, 2.0], [-3.0, -6.0]])).item() == pytest.approx(1.0)  # parallel codes


def test_the_score_is_each_samples_mean_squared_reconstruction_error(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory(["data=ring", "model=mlp", "model.width=8", *EBGAN]), steps=1)
    critic = module.discriminator
    x = torch.randn(5, 2)
    recon = critic.decoder(critic.trunk(x))
    assert torch.allclose(module.critic(x), ((recon - x) ** 2).mean(1))
    # the decoder is D's: D's optimizer trains it, and nothing of the encoder's score head is left unused
    _, opt_d = module.optimizers()
    trained = {id(p) for group in opt_d.optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in critic.decoder.parameters()} <= trained
    assert trained == {id(p) for p in critic.parameters()}


def test_the_pull_away_term_trains_g_alone(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory(["data=ring", "model=mlp", "model.width=8", *EBGAN]), steps=1)
    batch = module._play(torch.randn(16, 2), None, train_generator=True)
    term = module.g_objective(batch)[1]["g_pull_away"]  # G's own objective: D frozen by it, not by the test
    grads = torch.autograd.grad(term, [*module.generator.parameters(), *module.discriminator.parameters()],
                                allow_unused=True)
    g, d = grads[:len(list(module.generator.parameters()))], grads[len(list(module.generator.parameters())):]
    assert any(x is not None and x.abs().sum() > 0 for x in g) and all(x is None for x in d)
    assert term.item() == pytest.approx(0.1 * pull_away(batch.fake.features).item())  # λ_PT = 0.1


def test_d_loss_trains_the_encoder_and_the_decoder(cfg_factory, train_steps):
    module, _ = train_steps(cfg_factory(["data=ring", "model=mlp", "model.width=8", *EBGAN]), steps=1)
    batch = module._play(torch.randn(16, 2), None, train_generator=False)
    total, _ = module.d_objective(batch)
    critic = module.discriminator
    for part in (critic.trunk, critic.decoder):
        grads = torch.autograd.grad(total, list(part.parameters()), retain_graph=True, allow_unused=True)
        assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


# gp on an MLP without BatchNorm: the decoder is G's architecture, whose BatchNorm would mix per-sample gradients
@pytest.mark.parametrize("model, constraint", [("data=digits model.width=8", "sn"),
                                               ("data=digits model.width=8", "clip"),
                                               ("data=digits model.width=8", "noise"),
                                               ("data=digits model=mlp model.width=8", "gp")])
def test_ebgan_trains_with_every_constraint_family(cfg_factory, train_steps, model, constraint):
    cfg = cfg_factory([*model.split(), *EBGAN, f"constraint={constraint}"])
    validate(cfg)
    module, before = train_steps(cfg)
    assert module.iteration == 2 and all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    if constraint == "clip":  # every weight of the autoencoder is D's
        assert all(p.abs().max() <= 0.01 for p in score_parameters(module.discriminator))


@pytest.mark.parametrize("overrides, message", [
    (["variant=ebgan"], "variant=ebgan scores samples by an autoencoder's reconstruction energy"),
    (["loss=energy"], "loss=energy needs a critic whose scores are energies"),
    ([*EBGAN, "constraint=gn"], "constraint gn rescales D's score into (-1, 1)"),
    ([*EBGAN, "constraint=gran"], "constraint gran rescales D's score into (-1, 1)"),
    ([*EBGAN, "data.batch_size=1"], "pull-away term compares the samples of a batch: set data.batch_size >= 2"),
    ([*EBGAN, "constraint=gp"], "which the BatchNorm of EBGAN's decoder (G's architecture) mixes across the batch"),
    (["variant.feature_matching=ture"], "variant.feature_matching='ture': choose true or false"),
])
def test_what_ebgan_cannot_take_is_refused_in_one_line(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(cfg_factory(overrides))
