"""The label-free random feature space: fixed, scaled on the data, and able to tell real images from degraded ones;
metrics.extractor=auto chooses it for data without labels."""
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from gan_runner.data.dataset import GanData
from gan_runner.metrics import spaces
from gan_runner.metrics.extractor import weights_id
from gan_runner.metrics.image import ImageEvaluator
from gan_runner.metrics.random_features import RandomFeatures, random_features
from gan_runner.metrics.reference import sample_reference

# The weights of the unscaled space for RGB images. A change here changes every FID measured in it: if intended,
# say so in the README's metrics section (runs record the weights' hash in their protocol).
RGB_WEIGHTS = "670a6218ce660e58"


def test_the_space_is_fixed():
    assert weights_id(RandomFeatures(3)) == weights_id(RandomFeatures(3)) == RGB_WEIGHTS
    rng = torch.get_rng_state()
    RandomFeatures(1)
    assert torch.equal(torch.get_rng_state(), rng)  # its own generator: the caller's RNG does not move


def test_each_half_has_unit_rms_on_the_training_images(mnist5k):
    net = random_features(mnist5k)
    with torch.no_grad():
        features = net(mnist5k.x[:2000])
    colour, structure = features.split(128, dim=1)
    assert colour.square().mean().sqrt().item() == pytest.approx(1.0, rel=0.05)
    assert structure.square().mean().sqrt().item() == pytest.approx(1.0, rel=0.05)
    assert net.num_classes == 0


@pytest.fixture(scope="module")
def fids(mnist5k, tmp_path_factory):
    """FID in the random space: the first 1,500 of a fixed permutation against 1,500 others, as they are, blurred,
    shifted in brightness, and replaced by noise (KID on small subsets: its cost grows with their square)."""
    net = random_features(mnist5k)
    reference = sample_reference(mnist5k, 1500, net, tmp_path_factory.mktemp("reference"))
    evaluator = ImageEvaluator(net, reference, {"extractor": "random"}, 1500, kid_subset_size=200)
    others = mnist5k.x[torch.randperm(5000, generator=torch.Generator().manual_seed(0))[1500:3000]]
    cases = {"real": others, "blurred": F.avg_pool2d(others, 3, 1, 1), "brighter": (others + 0.2).clamp(-1, 1),
             "noise": torch.rand(others.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1}
    return {name: evaluator(images.split(500)) for name, images in cases.items()}


def test_real_images_are_closer_than_degraded_ones(fids):
    assert set(fids["real"]) == {"fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage"}
    real = fids["real"]["fid"]
    for degraded in ("blurred", "brighter", "noise"):
        assert fids[degraded]["fid"] > 3 * real, degraded
    assert fids["noise"]["fid"] > fids["blurred"]["fid"]
    assert fids["real"]["coverage"] > 0.9 and fids["noise"]["coverage"] < 0.05


def _lenet_stub(data, cache_dir):
    return "lenet", {"extractor": "lenet"}


@pytest.mark.parametrize("labels, chosen", [(True, "lenet"), (False, "random")])
def test_auto_takes_lenet_with_labels_and_random_without(monkeypatch, labels, chosen):
    monkeypatch.setattr(spaces, "load_or_train_extractor", _lenet_stub)
    x = torch.rand(20, 3, 8, 8) * 2 - 1
    data = GanData("toy images", x, torch.arange(20) % 2 if labels else None, num_classes=2 if labels else 0)
    cfg = OmegaConf.create({"extractor": "auto", "cache_dir": "unused", "inception_weights": None})
    extractor, protocol = spaces.feature_space(cfg, data)
    assert protocol["extractor"] == chosen
    assert protocol["chosen_by"] == f"metrics.extractor=auto: the data {'has' if labels else 'has no'} labels"
    if chosen == "random":
        assert isinstance(extractor, RandomFeatures) and protocol["weights"] == weights_id(extractor)
        assert "not comparable with published" in protocol["limits"]
