"""The LeNet feature space: accuracy, any input size, a cache that is reused when valid and rebuilt when stale."""
import re
import sys

import pytest
import torch

from gan_runner.data import embedded
from gan_runner.data.dataset import GanData
from gan_runner.errors import UserError
from gan_runner.metrics import extractor
from gan_runner.metrics.extractor import INCEPTION_FILE, LeNetFeatures, load_inception, load_or_train_extractor


def test_heldout_accuracy_on_mnist5k(lenet):
    assert lenet.info["extractor"] == "lenet"
    assert lenet.info["n_train"] == 4500 and lenet.info["n_heldout"] == 500
    assert lenet.info["heldout_accuracy"] >= 0.96
    assert not lenet.model.training


@pytest.mark.parametrize("channels,size", [(1, 8), (1, 28), (3, 32), (3, 64)])
def test_any_size_and_channels(channels, size):
    net = LeNetFeatures(channels, num_classes=7)
    x = torch.rand(4, channels, size, size) * 2 - 1
    features, logits = net.features_and_logits(x)
    assert features.shape == (4, net.num_features) == (4, 128) and logits.shape == (4, 7)
    assert torch.equal(net(x), features) and torch.equal(net.logits(x), logits)


def cached_name(data):
    """The cache file of a data set's feature space: named by its shape and a hash of its contents."""
    return f"{data.name}-{'x'.join(map(str, data.x.shape[1:]))}-{extractor.fingerprint(data).split(':')[1]}.pt"


def _fail_if_trained(*args, **kwargs):
    raise AssertionError("retrained although the cache is valid")


def test_cache_is_reused(lenet, mnist5k, monkeypatch):
    monkeypatch.setattr(extractor, "_train", _fail_if_trained)
    model, info = load_or_train_extractor(mnist5k, lenet.cache)
    assert info == lenet.info
    for name, value in lenet.model.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    name = cached_name(mnist5k)
    assert sorted(p.name for p in lenet.cache.iterdir()) == [name, f"{name}.lock"]


class _CountingTrainer:
    """Stands in for the real training: an untrained net, counted, so the cache logic is tested in milliseconds."""

    def __init__(self):
        self.calls = 0

    def __call__(self, data, seed):
        self.calls += 1
        return LeNetFeatures(data.x.shape[1], data.num_classes), {"heldout_accuracy": 0.5, "n_train": 9, "n_heldout": 1}


@pytest.mark.parametrize("change", ["older version", "corrupt file"])
def test_stale_cache_is_retrained(lenet, mnist5k, tmp_path, monkeypatch, change):
    name = cached_name(mnist5k)
    (tmp_path / name).write_bytes((lenet.cache / name).read_bytes())
    if change == "older version":
        monkeypatch.setattr(extractor, "VERSION", extractor.VERSION + 1)
    else:
        (tmp_path / name).write_bytes(b"not a checkpoint")
    trainer = _CountingTrainer()
    monkeypatch.setattr(extractor, "_train", trainer)
    _, info = load_or_train_extractor(mnist5k, tmp_path)
    assert trainer.calls == 1 and info["heldout_accuracy"] == 0.5
    load_or_train_extractor(mnist5k, tmp_path)
    assert trainer.calls == 1  # the retrained net replaced the stale file


@pytest.mark.parametrize("change", ["negated pixels", "fewer images", "other labels", "another folder"])
def test_other_images_of_the_same_shape_keep_a_feature_space_each(mnist5k, tmp_path, monkeypatch, change):
    """Alternating two labelled data sets (two folders of the same size) trains each feature space once."""
    x, y, content_id = mnist5k.x, mnist5k.y, None
    if change == "negated pixels":
        x = -x
    elif change == "fewer images":
        x, y = x[:4000], y[:4000]
    elif change == "other labels":
        y = (y + 1) % 10
    else:
        content_id = "a listing key"  # a decoded folder's
    other = GanData("mnist5k", x, y, num_classes=10, content_id=content_id)
    trainer = _CountingTrainer()
    monkeypatch.setattr(extractor, "_train", trainer)
    for data in (other, mnist5k, other, mnist5k):
        load_or_train_extractor(data, tmp_path)
    assert trainer.calls == 2


def test_sklearn_digits_train_to_90_percent_with_features_of_unit_rms(digits_lenet):
    """The session's feature space of scikit-learn's 8 px digits, trained as a run trains it."""
    assert digits_lenet.info["heldout_accuracy"] >= 0.9 and digits_lenet.info["n_heldout"] == 180
    # Unit RMS on the training images keeps KID's cubic kernel in its intended range.
    x = embedded.digits().x
    assert digits_lenet.model(x).square().mean().sqrt().item() == pytest.approx(1.0, rel=0.1)


def test_training_moves_neither_the_callers_rng_nor_its_thread_count(tmp_path, monkeypatch):
    monkeypatch.setattr(extractor, "MIN_STEPS", 10)  # what training draws, not how well it trains
    data = embedded.digits()
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    load_or_train_extractor(data, tmp_path)
    assert torch.equal(torch.get_rng_state(), rng) and torch.get_num_threads() == threads


def test_missing_inception_weights_named_in_one_line(tmp_path):
    missing = tmp_path / "nowhere" / "inception.pth"
    with pytest.raises(UserError) as err:
        load_inception(str(missing))
    message = str(err.value)
    assert "\n" not in message
    assert f"metrics.inception_weights={missing}" in message and INCEPTION_FILE in message
    assert "hub/checkpoints" in message


def test_default_inception_location_follows_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(UserError, match=re.escape(str(tmp_path / "hub" / "checkpoints" / INCEPTION_FILE))):
        load_inception(None)


def test_inception_file_checked_before_importing_torch_fidelity(tmp_path, monkeypatch):
    # A None entry makes any import of the module fail: a UserError proves the check came first.
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)
    with pytest.raises(UserError):
        load_inception(str(tmp_path / "missing.pth"))


def test_a_large_set_trains_on_a_capped_subset_batch_by_batch(mnist5k, monkeypatch):
    monkeypatch.setattr(extractor, "MAX_IMAGES", 600)
    monkeypatch.setattr(extractor, "MIN_STEPS", 10)
    data = GanData("mnist5k", mnist5k.x, mnist5k.y, num_classes=10)
    touched = []

    def samples(index):
        touched.append(index.numel())
        return GanData.samples(data, index)

    data.samples = samples
    _, stats = extractor._train(data, seed=0)
    assert stats["n_train"] == 540 and stats["n_heldout"] == 60
    assert max(touched) <= 1000  # never the whole set at once
    assert sum(touched) == 5 * 540 + 540 + 60  # 5 epochs, the feature scale, the held-out accuracy
