"""variant=semisupervised (Salimans et al. 2016, §5): the unsupervised term on a fixed logit table against the paper's
formula, the labelled subset, the supervised term, D scored as a classifier of held-out digits, and refusals."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from gan_runner.errors import UserError
from gan_runner.modules.sides import Batch, Side
from gan_runner.validate import validate

DIGITS = ["data=digits", "model=mlp", "model.width=16", "variant=semisupervised", "variant.validation=200",
          "variant.test=200"]


@pytest.fixture
def trained(cfg_factory, train_steps):
    return train_steps(cfg_factory(DIGITS), steps=2)


def test_the_unsupervised_term_is_the_papers_with_the_fake_logit_at_zero(trained):
    module, _ = trained
    real_logits = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 3.0]])
    fake_logits = torch.tensor([[-1.0, -1.0, -4.0], [2.0, 0.0, 0.0]])
    z_real, z_fake = real_logits.exp().sum(1), fake_logits.exp().sum(1)
    paper = -(z_real / (z_real + 1)).log().mean() - (1 / (z_fake + 1)).log().mean()  # D(x) = Z / (Z + 1)
    batch = Batch(Side(None, None, torch.logsumexp(real_logits, 1)), Side(None, None, torch.logsumexp(fake_logits, 1)),
                  None)
    assert module.d_adversarial(batch)["d_unlabelled"].item() == pytest.approx(0.5 * paper.item(), rel=1e-6)
    x = torch.randn(3, 64)
    logits = module.logits(module.d_part("trunk")(x))
    assert torch.allclose(module.critic(x), torch.logsumexp(logits, 1))  # D's score: log Z


def test_the_labelled_digits_are_balanced_drawn_by_seed_and_never_held_out(cfg_factory, train_steps, trained):
    module, _ = trained
    x, y = module._labelled
    assert torch.bincount(y, minlength=10).tolist() == [10] * 10
    other, _ = train_steps(cfg_factory([*DIGITS, "variant.labelled_seed=5"]), steps=1)
    assert not torch.equal(other._labelled[0], x)  # another seed labels other digits
    again, _ = train_steps(cfg_factory(DIGITS), steps=1)
    assert torch.equal(again._labelled[0], x)


def test_the_supervised_term_is_the_cross_entropy_of_the_labelled_digits(trained):
    module, _ = trained
    x, y = module._labelled
    batch = Batch(Side(torch.zeros(len(y), 64), None), Side(None, None), None)
    torch.manual_seed(3)
    term = module.d_extra(batch)["d_labelled"]
    torch.manual_seed(3)
    pick = torch.randint(len(y), (len(y),))
    expected = F.cross_entropy(module.logits(module.d_part("trunk")(x[pick].view(len(y), -1))), y[pick])
    assert term.item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_supervised_term_on_a_fixed_logit_table_by_hand(trained, monkeypatch):
    """Labelled rows whose logits are (2, 0, 0) with label 0 and (0, 2, 0) with label 1: each costs
    -log(e² / (e² + 2)) = log(1 + 2 e⁻²) = 0.23954, whichever rows the step draws."""
    module, _ = trained
    module._labelled = (torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), torch.tensor([0, 1]))

    def features_are_the_inputs(side):
        side.features = side.x
    monkeypatch.setattr(module, "_score", features_are_the_inputs)
    monkeypatch.setattr(module, "logits", lambda features: features)
    term = module.d_extra(Batch(Side(torch.zeros(4, 64), None), Side(None, None), None))["d_labelled"]
    assert term.item() == pytest.approx(math.log(1 + 2 * math.exp(-2)), rel=1e-6)


def test_d_is_scored_as_a_classifier_of_the_held_out_digits(cfg_factory, trained):
    import hydra.utils

    module, _ = trained
    data = hydra.utils.instantiate(cfg_factory(DIGITS).data.source)
    scores = module.variant_metrics(SimpleNamespace(data=data))
    _, validation, test = module.split(data)
    truth = (module.classify(data.samples(test)) == data.y[test]).float().mean().item()
    assert scores["test_classifier_accuracy"] == pytest.approx(truth)
    assert 0 <= scores["classifier_accuracy"] <= 1 and not math.isnan(scores["classifier_accuracy"])
    kept = set(module.split(data)[0].tolist())
    assert not kept & set(validation.tolist()) and not kept & set(test.tolist())


@pytest.mark.parametrize("overrides, message", [
    (["loss=ragan"], "compares D\\(x\\) = Z/\\(Z\\+1\\) with 1 and 0"),
    (["constraint=gn"], "constraint gn rescales D's score"),
])
def test_what_it_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory([*DIGITS, *overrides]))
