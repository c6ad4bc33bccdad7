"""data=stacked_mnist: three mnist5k digits as the channels of one image, its mode the triple of their classes;
its metrics count the modes the samples fall in (each channel read by mnist5k's classifier) and their KL to uniform."""
import math
import shutil

import pytest
import torch

from gan_runner import results
from gan_runner.data.stacked import stacked_mnist
from gan_runner.errors import UserError
from gan_runner.metrics.stacked import StackedClassifier, mode_metrics
from gan_runner.run import run
from gan_runner.validate import validate


def test_a_stack_is_three_digits_and_its_mode_the_triple_of_their_classes():
    data = stacked_mnist(n=50, seed=1)
    index = torch.tensor([[3, 7], [0, 49]])
    stacks = data.samples(index)
    assert stacks.shape == (2, 2, 3, 28, 28) and len(data) == 50
    digits = data.triples[index]
    for c in range(3):
        torch.testing.assert_close(stacks[..., c, :, :], data.digits.samples(digits[..., c]).squeeze(-3))
    a, b, c = (data.digits.y[digits[..., k]] for k in range(3))
    assert torch.equal(data.modes(index), 100 * a + 10 * b + c)
    assert torch.equal(stacked_mnist(n=50, seed=1).triples, data.triples)  # the same training set for every run


def test_modes_and_kl_of_a_hand_made_histogram():
    result = mode_metrics(torch.tensor([0, 0, 1, 999]))  # q = 1/2, 1/4, 1/4 over three of 1,000 modes
    assert result["stacked_modes"] == 3
    assert result["stacked_kl"] == pytest.approx(0.5 * math.log(500) + 2 * 0.25 * math.log(250))
    assert mode_metrics(torch.arange(1000))["stacked_kl"] == pytest.approx(0.0, abs=1e-12)  # uniform
    assert mode_metrics(torch.zeros(7, dtype=torch.long))["stacked_kl"] == pytest.approx(math.log(1000))


def test_the_digits_classifier_reads_most_real_stacks_right(lenet):
    data = stacked_mnist(n=500, seed=2)
    modes, features = StackedClassifier(lenet.model, "cpu")(data.samples(torch.arange(500)))
    assert features.shape == (500, 3 * lenet.model.num_features)
    right = (modes == data.modes(torch.arange(500))).float().mean().item()
    assert right > 0.9, right  # about accuracy^3 = 0.96; its own training digits: higher


def test_a_stacked_mnist_run_reports_its_modes(cfg_factory, tmp_path, lenet):
    shutil.copytree(lenet.cache, tmp_path / "cache", dirs_exist_ok=True)  # cfg_factory's GAN_RUNNER_CACHE
    out = tmp_path / "run"
    run(cfg_factory(["data=stacked_mnist", "data.source.n=1000", "model=dcgan", "model.width=4", "model.z_dim=8",
                     "optimizer=adam", "trainer.max_steps=2", "metrics.num_samples=200", "metrics.every_n_steps=0",
                     "trainer.enable_progress_bar=false"], out))
    result = results.read(out / "metrics.json")
    assert result["status"] == "completed" and set(result["metrics"]["final"]) == {"stacked_modes", "stacked_kl", "fid"}
    protocol = result["metrics"]["protocol"]
    assert protocol["digit_heldout_accuracy"] > 0.95 and protocol["reference_stacks_read_right"] > 0.9


def test_stacked_modes_are_an_objective_of_stacked_mnist_only(cfg_factory):
    validate(cfg_factory(["data=stacked_mnist", "model=dcgan", "objective=stacked_kl"]))
    with pytest.raises(UserError, match="objective=stacked_modes is not reported on data=mnist5k"):
        validate(cfg_factory(["objective=stacked_modes"]))


@pytest.mark.parametrize("setting", ["metrics.extractor=random", "metrics.reference=train_set"])
def test_feature_space_settings_that_stacked_mnist_ignores_are_refused(cfg_factory, setting):
    with pytest.raises(UserError, match="data=stacked_mnist reads each channel with mnist5k's classifier"):
        validate(cfg_factory(["data=stacked_mnist", "model=dcgan", setting]))
