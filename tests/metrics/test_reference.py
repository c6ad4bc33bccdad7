"""The real side of the metrics: the whole training set's statistics (metrics.reference=train_set) and a sample's
features, computed batch by batch, cached once per data set and feature space."""
import copy

import pytest
import torch
from torchmetrics.image import FrechetInceptionDistance

from gan_runner.data.dataset import GanData
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
