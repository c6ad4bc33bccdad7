"""The real side of the metrics: the whole training set's statistics (metrics=standard's protocol) and a sample's
features, computed batch by batch, cached once per data set and feature space; metrics=standard's machinery through
the LeNet space, since Inception weights are not on this machine."""
import copy

import hydra.utils
import pytest
import torch
from torchmetrics.image import FrechetInceptionDistance

from gan_runner.build import build_module
from gan_runner.data.dataset import GanData
from gan_runner.evaluation import ImageEvaluation
from gan_runner.metrics import reference as reference_module
from gan_runner.metrics.image import _Precomputed, frechet_distance
from gan_runner.metrics.reference import moments, sample_reference, train_set_reference


def test_train_set_statistics_are_those_of_every_training_image(lenet, mnist5k, tmp_path):
    stats = train_set_reference(mnist5k, lenet.model, tmp_path)
    with torch.no_grad():
        features = lenet.model(mnist5k.x)
    assert stats.n == 5000 and stats.features is None
    assert stats.description == "statistics of the whole training set"
    total, outer = moments(features)
    assert torch.allclose(stats.features_sum, total, rtol=1e-9) and torch.allclose(stats.outer_sum, outer, rtol=1e-9)


def test_filled_statistics_give_the_fid_of_torchmetrics_own_update(lenet, mnist5k, tmp_path):
    fake = lenet.model(-mnist5k.x[:500]).detach()  # anything far from the data
    filled = frechet_distance(train_set_reference(mnist5k, lenet.model, tmp_path))
    direct = FrechetInceptionDistance(feature=_Precomputed(128), normalize=False)
    with torch.no_grad():
        direct.update(lenet.model(mnist5k.x), real=True)
    for fid in (filled, direct):
        fid.update(fake, real=False)
    assert filled.compute().item() == pytest.approx(direct.compute().item(), rel=1e-9)


def _never(*args, **kwargs):
    raise AssertionError("computed again although the cache holds it")


@pytest.mark.parametrize("reference", [sample_reference, train_set_reference])
def test_computed_once_per_data_and_feature_space(lenet, mnist5k, tmp_path, monkeypatch, reference):
    def build(data, extractor):
        return reference(data, 300, extractor, tmp_path) if reference is sample_reference else \
            reference(data, extractor, tmp_path)

    small = GanData("mnist5k", mnist5k.x[:1000], mnist5k.y[:1000], num_classes=10)
    first = build(small, lenet.model)
    with monkeypatch.context() as patch:
        patch.setattr(reference_module, "_features", _never)
        again = build(small, lenet.model)
    assert torch.equal(first.features_sum, again.features_sum) and torch.equal(first.outer_sum, again.outer_sum)
    other_net = copy.deepcopy(lenet.model)
    other_net.feature_scale.mul_(2)
    other_data = GanData("mnist5k", mnist5k.x[1000:2000], mnist5k.y[1000:2000], num_classes=10)
    assert build(small, other_net).features_sum == pytest.approx(2 * first.features_sum)
    assert not torch.equal(build(other_data, lenet.model).features_sum, first.features_sum)
    assert len(list((tmp_path / "reference").glob("*.pt"))) == 3


def test_standard_protocol_machinery_in_lenet_space(cfg_factory, seeded_cache):
    """metrics=standard with the LeNet space: FID against all 1,797 digits, IS in 10 splits, no KID or PRDC."""
    cfg = cfg_factory(["data=digits", "model=mlp", "metrics=standard", "metrics.extractor=lenet",
                       "metrics.num_samples=1000"])
    data = hydra.utils.instantiate(cfg.data.source)
    evaluation = ImageEvaluation(cfg.metrics, data, torch.device("cpu"))
    protocol = evaluation.protocol
    assert protocol["extractor"] == "lenet" and protocol["reference"] == "statistics of the whole training set"
    assert protocol["num_real"] == 1797 and protocol["num_fake"] == 1000 and protocol["is_splits"] == 10
    assert protocol["metrics"] == ["fid", "is"] and "kid_subset_size" not in protocol
    result = evaluation(build_module(cfg, data))
    # no KID or PRDC without real samples; the class metrics of labelled images need none
    assert set(result) == {"fid", "is_mean", "is_std", "class_kl", "classes_covered"} and result["fid"] > 0
