"""Each variant's loss terms on hand-computed cases, and the rules public ports got wrong (DESIGN.md, "Variants")."""
import math

import hydra.utils
import pytest
import torch

from gan_runner.build import build_module
from gan_runner.errors import UserError
from gan_runner.evaluation import VariantEvaluation
from gan_runner.modules.sides import Batch, Side
from gan_runner.validate import validate

DIGITS = ["data=digits", "model.width=8"]
LAYERS = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)


def build(cfg_factory, *overrides):
    cfg = cfg_factory([*DIGITS, *overrides])
    torch.manual_seed(0)
    data = hydra.utils.instantiate(cfg.data.source)
    return build_module(cfg, data), data


def real_batch(data, n=12):
    index = torch.arange(n) * 37 % len(data)
    return data.samples(index), data.y[index]


def neg_log_softmax(logits, target):
    """-log softmax(logits)[target] per row, written out: logsumexp minus the target's logit."""
    return (logits.exp().sum(1).log() - logits[torch.arange(len(target)), target]).mean()


# ----- CatGAN -----
def entropy_of(p):
    return -sum(q * math.log(q) for q in p if q > 0)


@pytest.mark.parametrize("w", [1.0, 2.5])  # the paper's terms, and the marginal entropies weighted
def test_catgan_terms_on_a_fixed_probability_table(cfg_factory, w):
    module, _ = build(cfg_factory, "variant=catgan", "variant.classes=2", f"variant.marginal_weight={w}")
    module.class_logits = lambda side: side.features  # the table's log-probabilities stand for D's logits
    real, fake = [[0.5, 0.5], [0.8, 0.2]], [[0.9, 0.1], [0.3, 0.7]]
    side = {name: Side(torch.zeros(2, 1), None, features=torch.tensor(table).log()) for name, table in
            (("real", real), ("fake", fake))}
    batch = Batch(side["real"], side["fake"], torch.zeros(2, 1))

    def mean(rows):
        return [sum(col) / len(rows) for col in zip(*rows)]

    # L_D = -w H[E p(y|x)] + E H[p(y|x)] - E H[p(y|G(z))];  L_G = -w H[E p(y|G(z))] + E H[p(y|G(z))]
    d_expected = (-w * entropy_of(mean(real)) + sum(map(entropy_of, real)) / 2 - sum(map(entropy_of, fake)) / 2)
    g_expected = -w * entropy_of(mean(fake)) + sum(map(entropy_of, fake)) / 2
    assert sum(module.d_adversarial(batch).values()).item() == pytest.approx(d_expected, abs=1e-6)
    assert sum(module.g_adversarial(batch, None).values()).item() == pytest.approx(g_expected, abs=1e-6)
    # by hand: uniform real rows cost D (1 - w) log 2, uniform fake rows give it -log 2; G's are (1 - w) log 2
    uniform = Side(torch.zeros(2, 1), None, features=torch.zeros(2, 2))
    assert sum(module.d_adversarial(Batch(uniform, uniform, None)).values()).item() == \
        pytest.approx(-w * math.log(2))
    assert sum(module.g_adversarial(Batch(uniform, uniform, None), None).values()).item() == \
        pytest.approx((1 - w) * math.log(2))


def test_catgan_semi_supervised_term_and_held_out_digits(cfg_factory):
    module, data = build(cfg_factory, "variant=catgan", "variant.labelled=20", "variant.validation=60",
                         "variant.test=40", "variant.supervised_weight=0.5")
    train = module.training_data(data)
    kept, validation, test = module.split(data)
    assert len(validation) == 60 and len(test) == 40 and len(kept) + 100 == len(data)
    assert len(set(kept.tolist()) | set(validation.tolist()) | set(test.tolist())) == len(data)  # three disjoint parts
    assert torch.equal(train.x, data.x[kept]) and torch.equal(train.y, data.y[kept])  # no held-out digit trains
    x, y = module._labelled
    assert torch.bincount(y, minlength=10).tolist() == [2] * 10  # balanced over the classes
    real, _ = real_batch(data)
    torch.manual_seed(3)
    terms = module.d_extra(Batch(Side(real, None), Side(real, None), None))
    torch.manual_seed(3)
    pick = torch.randint(20, (len(real),))
    logits = module.d_part("head")(module.d_part("trunk")(x[pick]))
    assert terms["d_supervised"].item() == pytest.approx(0.5 * neg_log_softmax(logits, y[pick]).item(), rel=1e-5)


@pytest.mark.parametrize("labelled", [0, 20])
def test_catgan_cluster_accuracy_matches_classes_only_without_labelled_samples(cfg_factory, monkeypatch, labelled):
    """A D that is right but for two swapped classes: unsupervised, its numbering is arbitrary and matching forgives
    the swap; semi-supervised, the cross-entropy ties class k to label k, and the swapped digits count as wrong."""
    module, data = build(cfg_factory, "variant=catgan", f"variant.labelled={labelled}")
    module.training_data(data)
    _, held, _ = module.split(data)
    label_of = {tuple(data.samples(i).flatten().tolist()): int(data.y[i]) for i in held.tolist()}
    swap = torch.tensor([1, 0, *range(2, 10)])
    monkeypatch.setattr(module, "cluster", lambda x: swap[[label_of.get(tuple(r.flatten().tolist()), 0) for r in x]])
    scores = module.variant_metrics(VariantEvaluation(classifier=None, data=data))
    swapped = (data.y[held] < 2).double().mean().item()
    assert scores["cluster_purity"] == 1.0 and 0.1 < swapped < 0.3
    assert scores["cluster_accuracy"] == (pytest.approx(1 - swapped) if labelled else 1.0)


@pytest.mark.parametrize("labelled, message", [
    (25, r"variant.labelled=25 must be a multiple of variant.classes=10 .*: use 20 or 30"),
    (5, r"variant.labelled=5 must be a multiple of variant.classes=10 .*at least one each\): use 10$")])
def test_catgan_refuses_labelled_samples_that_cannot_be_balanced(cfg_factory, labelled, message):
    with pytest.raises(UserError, match=message) as caught:
        validate(cfg_factory([*DIGITS, "variant=catgan", f"variant.labelled={labelled}"]))
    assert "\n" not in str(caught.value)


def test_catgan_refuses_more_labelled_samples_per_class_than_training_holds(cfg_factory):
    module, data = build(cfg_factory, "variant=catgan", "variant.labelled=2000")
    with pytest.raises(UserError, match=r"asks 200 labelled samples of each class, and class \d has \d+ in the "):
        module.training_data(data)


# ----- InfoGAN -----
def test_infogan_codes_are_one_hot_and_uniform_on_minus_one_one(cfg_factory):
    module, _ = build(cfg_factory, "variant=infogan")
    z, y = module.sample_latent(20000)
    assert y is None and z.shape == (20000, module.z_dim + 12)
    one_hot = z[:, module.z_dim:module.z_dim + 10]
    assert torch.equal(one_hot.sum(1), torch.ones(20000)) and set(one_hot.unique().tolist()) == {0.0, 1.0}
    continuous = z[:, -2:]
    assert continuous.min() >= -1 and continuous.max() <= 1  # U(-1, 1), not N(0, 1) (PyTorch-GAN #25)
    assert continuous.var(0).tolist() == pytest.approx([1 / 3, 1 / 3], abs=0.02)


@pytest.mark.parametrize("noise, low, high, variance", [("normal", -math.inf, math.inf, 1.0),
                                                        ("uniform", -1.0, 1.0, 1 / 3)])
def test_infogan_noise_is_normal_or_the_authors_uniform_in_training_and_evaluation(cfg_factory, noise, low, high,
                                                                                   variance):
    module, _ = build(cfg_factory, "variant=infogan", f"variant.noise={noise}")
    for z in (module.sample_latent(20000)[0][:, :module.z_dim], module.noise(20000, fixed=True)):
        assert low <= z.min() and z.max() <= high and (noise == "uniform" or z.abs().max() > 1)
        assert z.var().item() == pytest.approx(variance, rel=0.05) and z.mean().item() == pytest.approx(0, abs=0.02)


@pytest.mark.parametrize("sigma", ["fixed", "learned"])
def test_infogan_information_terms_by_hand(cfg_factory, sigma):
    module, _ = build(cfg_factory, "variant=infogan", "variant.lambda_cat=0.7", "variant.lambda_cont=0.3",
                      f"variant.sigma={sigma}")
    z, _ = module.sample_latent(16)
    features = torch.randn(16, module.d_part("trunk")(torch.zeros(1, 1, 8, 8)).shape[1])
    out = module.d_part("heads")["q"](features).detach()
    code, continuous = z[:, module.z_dim:module.z_dim + 10].argmax(1), z[:, -2:]
    terms = module.information_terms(features, z, "g_info")
    # the categorical term is the cross-entropy of Q's logits to the code (no softmax before it)
    assert terms["g_info_cat"].item() == pytest.approx(0.7 * neg_log_softmax(out[:, :10], code).item(), rel=1e-5)
    mean = out[:, 10:12]
    if sigma == "fixed":  # N(mu, 1): half the squared error
        nll = 0.5 * (continuous - mean) ** 2
    else:
        log_sigma = out[:, 12:14]
        nll = log_sigma + (continuous - mean) ** 2 / (2 * torch.exp(2 * log_sigma))
    assert terms["g_info_cont"].item() == pytest.approx(0.3 * nll.sum(1).mean().item(), rel=1e-5)


def test_infogan_information_reaches_g_and_q_with_ds_body(cfg_factory):
    module, data = build(cfg_factory, "variant=infogan")
    z, _ = module.sample_latent(8)
    fake = module.generate(z)
    fake_side = Side(fake, None, features=module.d_part("trunk")(fake))
    sum(module.g_extra(Batch(Side(fake, None), fake_side, z)).values()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.generator.parameters())
    module.zero_grad()
    fake_side = Side(fake.detach(), None, features=module.d_part("trunk")(fake.detach()))
    sum(module.d_extra(Batch(Side(fake, None), fake_side, z)).values()).backward()
    for part in ("heads", "trunk"):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.d_part(part).parameters()), part


def test_infogan_with_the_papers_nets_has_their_fc_layers_and_q_has_batchnorm(cfg_factory):
    """The paper's MNIST nets: G starts with FC-BatchNorm-ReLU; D's convs end in FC-BatchNorm-LeakyReLU, shared by
    D's score and Q; Q: FC-BatchNorm-LeakyReLU."""
    module, data = build(cfg_factory, "variant=infogan", "model.d_norm=batch", "model.d_fc=16", "model.g_fc=24")
    project = module.generator.project
    assert [(type(m), getattr(m, "out_features", None)) for m in project[:3]] == [
        (torch.nn.Linear, 24), (torch.nn.BatchNorm1d, None), (torch.nn.ReLU, None)]
    assert project[3].in_features == 24 and module.generate(module.sample_latent(5)[0]).shape == (5, 1, 8, 8)
    trunk, q = module.d_part("trunk"), module.d_part("heads")["q"]
    assert [type(m) for m in list(trunk)[-3:]] == [torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.LeakyReLU]
    assert trunk(real_batch(data)[0]).shape == (12, 16) and module.d_part("head").in_features == 16
    assert [type(m) for m in q] == [torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.LeakyReLU, torch.nn.Linear]
    plain, _ = build(cfg_factory, "variant=infogan", "variant.q_norm=none")
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.d_part("heads")["q"])


# ----- AC-GAN -----
@pytest.mark.parametrize("fake_class_loss", [False, True])
def test_acgan_class_terms_by_hand(cfg_factory, fake_class_loss):
    module, data = build(cfg_factory, "variant=acgan", "variant.class_weight=0.5",
                         f"variant.fake_class_loss={str(fake_class_loss).lower()}")
    real, labels = real_batch(data)
    fake_labels = (labels + 3) % 10
    trunk, classifier = module.d_part("trunk"), module.d_part("heads")["classes"]
    sides = [Side(x, y, features=trunk(x)) for x, y in ((real, labels), (real.flip(0), fake_labels))]
    batch = Batch(*sides, None)
    by_hand = [0.5 * neg_log_softmax(classifier(s.features), s.y).item() for s in sides]
    d_terms = module.d_extra(batch)
    # the default: D's class loss on real samples only (StudioGAN #74)
    assert set(d_terms) == ({"d_class_real", "d_class_fake"} if fake_class_loss else {"d_class_real"})
    assert d_terms["d_class_real"].item() == pytest.approx(by_hand[0], rel=1e-5)
    if fake_class_loss:
        assert d_terms["d_class_fake"].item() == pytest.approx(by_hand[1], rel=1e-5)
    assert module.g_extra(batch)["g_class"].item() == pytest.approx(by_hand[1], rel=1e-5)


# ----- projection and cGAN -----
def test_projection_score_is_psi_plus_embedding_dot_features(cfg_factory):
    module, data = build(cfg_factory, "variant=projection")
    real, labels = real_batch(data)
    net, embed = module.discriminator.net, module.discriminator.embed
    phi = net.trunk(real)
    by_hand = (phi @ net.head.weight.T).squeeze(1) + net.head.bias + (embed.weight[labels] * phi).sum(1)
    torch.testing.assert_close(module.critic(real, labels), by_hand)
    assert not torch.allclose(module.critic(real, labels), module.critic(real, (labels + 1) % 10))


@pytest.mark.parametrize("variant", ["projection", "cgan"])
def test_d_sees_the_labels_g_was_given_and_penalties_hold_them_fixed(cfg_factory, variant):
    module, data = build(cfg_factory, f"variant={variant}", "constraint=gp")
    real, labels = real_batch(data)
    given, seen = [], []
    generate, critic = module.generate, module.critic
    module.generate = lambda z, y=None, generator=None: (given.append(y), generate(z, y, generator))[1]
    module.critic = lambda x, y=None: (seen.append((x, y)), critic(x, y))[1]
    batch = module._play(real, labels, train_generator=False)
    module.d_objective(batch)
    assert torch.equal(given[0], labels)
    (_, y_real), (x_fake, y_fake), (x_hat, y_hat) = seen  # real, fake, then the penalty's interpolates
    assert x_fake is batch.fake.x and torch.equal(y_fake, given[0])
    assert torch.equal(y_real, labels) and torch.equal(y_hat, labels) and x_hat.requires_grad


def test_cgan_matching_aware_term_scores_real_images_with_wrong_labels_as_fakes(cfg_factory):
    module, data = build(cfg_factory, "variant=cgan", "variant.mismatch=0.5", "loss=ns")
    real, labels = real_batch(data, 200)
    seen = []
    critic = module.critic
    module.critic = lambda x, y=None: (seen.append((x, y)), critic(x, y))[1]
    batch = module._play(real, labels, train_generator=False)
    module._score(batch.real)
    term = module.d_extra(batch)["d_mismatch"]
    (x_wrong, wrong), = seen[1:]
    assert x_wrong is real and (wrong != labels).all() and set(((wrong - labels) % 10).tolist()) == set(range(1, 10))
    v_real, v_wrong = critic(real, labels), critic(real, wrong)
    by_hand = 0.5 * -(torch.sigmoid(v_real).log().mean() + (1 - torch.sigmoid(v_wrong)).log().mean())
    assert term.item() == pytest.approx(by_hand.item(), rel=1e-5)
    module, _ = build(cfg_factory, "variant=cgan")
    assert module.d_extra(batch) == {}  # off by default: the paper's cGAN


# ----- the conditioning layers -----
@pytest.mark.parametrize("model, first_layer_inputs", [("dcgan", 1 + 10), ("mlp", 64 + 10)])
def test_cgan_appends_labels_as_channels_of_an_image_or_entries_of_a_vector(cfg_factory, model, first_layer_inputs):
    module, data = build(cfg_factory, "variant=cgan", f"model={model}")
    first = next(m for m in module.discriminator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert (first.in_channels if model == "dcgan" else first.in_features) == first_layer_inputs
    g_first = next(m for m in module.generator.modules() if isinstance(m, torch.nn.Linear))
    assert g_first.in_features == module.z_dim + 10  # one-hot y appended to z
    real, labels = real_batch(data)
    assert not torch.allclose(module.critic(real, labels), module.critic(real, (labels + 1) % 10))


@pytest.mark.parametrize("model", ["dcgan", "mlp"])
def test_cgan_labels_at_every_layer_reach_every_linear_and_conv_layer(cfg_factory, model):
    module, data = build(cfg_factory, "variant=cgan", "variant.labels=every_layer", f"model={model}")
    real, labels = real_batch(data)
    layers = {net: [m for m in getattr(module, net).modules() if isinstance(m, LAYERS)]
              for net in ("generator", "discriminator")}
    inputs = []
    for net_layers in layers.values():
        for layer in net_layers:
            layer.register_forward_pre_hook(lambda _, args: inputs.append(args[0]))
    module.critic(module.generate(torch.randn(len(labels), module.z_dim), labels), labels)
    assert len(inputs) == sum(map(len, layers.values())) >= 4
    for x in inputs:  # the last 10 inputs of every layer: the one-hot labels (constant planes for a conv)
        code = x[:, -10:].flatten(2).mean(2) if x.dim() == 4 else x[:, -10:]
        torch.testing.assert_close(code, torch.nn.functional.one_hot(labels, 10).float())
        if x.dim() == 4:
            assert torch.equal(x[:, -10:].amin((2, 3)), x[:, -10:].amax((2, 3)))


def test_conditional_batchnorm_gives_each_class_its_gain_and_bias(cfg_factory):
    module, _ = build(cfg_factory, "variant=projection")
    # running statistics: in training mode a sample's output would also depend on the other samples of its batch
    module.eval()
    norms = [m for m in module.generator.modules() if type(m).__name__ == "ConditionalBatchNorm"]
    assert norms and not any(isinstance(m, torch.nn.BatchNorm2d) and m.affine for m in module.generator.modules())
    z = torch.randn(6, module.z_dim)
    same = torch.tensor([0, 0, 0, 1, 1, 1])
    plain = module.generate(z, same)
    torch.testing.assert_close(module.generate(z, same.flip(0)), plain)  # gain 1, bias 0 at first: labels do nothing
    with torch.no_grad():
        for norm in norms:
            norm.gain.weight[1] *= 2
            norm.bias.weight[1] += 0.5
    moved = module.generate(z, same)
    torch.testing.assert_close(moved[:3], plain[:3])  # class 0 as before
    assert not torch.allclose(moved[3:], plain[3:])
