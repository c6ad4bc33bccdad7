"""DeePSiM (variant=deepsim): an image-to-image G trained by an adversarial term, a fixed network's features and
pixels, each switchable; the terms by hand, what each trains, and real steps."""
import pytest
import torch

from gan_runner.errors import UserError
from gan_runner.validate import validate

# the comparator: the cached evaluation LeNet (seed 0), rather than training the default seed 1's in every test
DIGITS = ["data=digits", "model.width=8", "variant=deepsim", "variant.comparator_seed=0"]


def _terms(module, real):
    batch = module._play(real, None, train_generator=True)
    logs = module.g_objective(batch)[1]  # G's own objective: D frozen by it, not by the test
    return batch, {name: term for name, term in logs.items() if name != "g_loss"}


def test_g_reconstructs_its_real_batch_and_each_term_is_its_formula(cfg_factory, train_steps, seeded_cache):
    module, _ = train_steps(cfg_factory([*DIGITS, "variant.adversarial_weight=2", "variant.feature_weight=3",
                                         "variant.image_weight=5"]), steps=1)
    real = module._data.samples(torch.arange(16))
    batch, terms = _terms(module, real)
    assert batch.z is real  # G's input is the real batch, not a latent draw
    fake = module.generator(real)
    torch.testing.assert_close(batch.fake.x, fake)
    comparator = module._comparator[0]
    assert terms["g_feature"].item() == pytest.approx(3 * (comparator(fake) - comparator(real)).square().mean().item(),
                                                      rel=1e-5)
    assert terms["g_image"].item() == pytest.approx(5 * (fake - real).square().mean().item(), rel=1e-5)
    assert terms["g_adv"].item() == pytest.approx(2 * module.loss.g_loss(module.critic(fake)).item(), rel=1e-5)
    for name in ("g_feature", "g_image", "g_adv"):  # every term trains G's encoder and decoder, none D or C
        grads = torch.autograd.grad(terms[name], [*module.generator.parameters(), *module.discriminator.parameters()],
                                    retain_graph=True, allow_unused=True)
        g, d = grads[:len(list(module.generator.parameters()))], grads[len(list(module.generator.parameters())):]
        assert all(x is not None for x in g) and all(x is None for x in d), name
    assert not any(p.requires_grad for p in comparator.parameters())
    assert not any(key.startswith("_comparator") for key in module.state_dict())  # nor is C in the checkpoint


def test_a_term_at_weight_0_is_off(cfg_factory, train_steps, seeded_cache):
    module, _ = train_steps(cfg_factory([*DIGITS, "variant.feature_weight=0", "variant.image_weight=0"]), steps=1)
    _, terms = _terms(module, module._data.samples(torch.arange(8)))
    assert set(terms) == {"g_adv"} and not module._comparator  # no comparator is even loaded


@pytest.mark.parametrize("extra", [["constraint=gp"], ["constraint=sn"], ["constraint=clip", "loss=wasserstein"],
                                   ["variant.adversarial_weight=0"]], ids=str)
def test_a_few_steps_with_each_constraint_family(cfg_factory, train_steps, seeded_cache, extra):
    cfg = cfg_factory([*DIGITS, *extra])
    validate(cfg)
    module, before = train_steps(cfg, steps=2)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))


@pytest.mark.parametrize("overrides, message", [
    (["variant.adversarial_weight=0", "variant.feature_weight=0", "variant.image_weight=0"], "trains nothing"),
    (["data=ring", "model=mlp"], "variant=deepsim reconstructs images"),
    (["model.virtual_batch_norm=true"], "drop model.virtual_batch_norm"),
    (["variant.feature_matching=true"], "drop variant.feature_matching"),
])
def test_what_it_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory([*DIGITS, *overrides]))


def test_the_default_comparator_is_a_draw_of_its_own_not_the_evaluations_lenet(cfg_factory, train_steps,
                                                                               seeded_cache, digits_lenet,
                                                                               monkeypatch):
    from gan_runner.metrics import extractor

    trained = []

    def at_initialization(data, seed):  # the seed's LeNet before training: its weights are the seed's, in no time
        trained.append(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = extractor.LeNetFeatures(data.x.shape[1], data.num_classes)
        return model, {"heldout_accuracy": 0.0, "n_train": 0, "n_heldout": 0}

    monkeypatch.setattr(extractor, "_train", at_initialization)
    module, _ = train_steps(cfg_factory(["data=digits", "model.width=8", "variant=deepsim"]), steps=1)
    assert trained == [1]  # the comparator's seed; the evaluation's LeNet (seed 0) is the cache's, untouched
    comparator, evaluation = module._comparator[0].state_dict(), digits_lenet.model.state_dict()
    assert comparator.keys() == evaluation.keys()
    assert not any(torch.equal(comparator[k], evaluation[k]) for k in comparator if comparator[k].numel() > 1)
