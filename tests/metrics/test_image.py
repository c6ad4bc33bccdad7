"""FID / IS / KID / PRDC in LeNet space on real digits against real digits and noise, and the Inception adapter."""
import math

import pytest
import torch
from torch import nn
from torchmetrics.image import fid as fid_module

from gan_runner.data.dataset import GanData
from gan_runner.errors import UserError
from gan_runner.metrics.extractor import InceptionFeatures, load_inception
from gan_runner.metrics.image import ImageEvaluator
from gan_runner.metrics.reference import sample_reference

KEYS = {"fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall", "density", "coverage"}


@pytest.fixture(scope="module")
def halves(mnist5k):
    """Two disjoint random halves of mnist5k (the set is sorted by class)."""
    perm = torch.randperm(5000, generator=torch.Generator().manual_seed(1))
    return mnist5k.x[perm[:2500]], mnist5k.x[perm[2500:]]


def evaluator_on(real, extractor, protocol, n, cache, **kwargs):
    """An evaluator whose reference is the first n of a fixed permutation of `real`."""
    reference = sample_reference(GanData("real", real), n, extractor, cache)
    return ImageEvaluator(extractor, reference, protocol, n, **kwargs)


def batches(images):
    return images.split(250)


@pytest.fixture(scope="module")
def scores(lenet, halves, tmp_path_factory):
    evaluator = evaluator_on(halves[0], lenet.model, lenet.info, 2500, tmp_path_factory.mktemp("reference"))
    noise = torch.rand(halves[1].shape, generator=torch.Generator().manual_seed(2)) * 2 - 1
    return evaluator, evaluator(batches(halves[1])), evaluator(batches(noise))


def test_real_vs_real_far_better_than_noise(scores):
    _, real, noise = scores
    assert set(real) == set(noise) == KEYS
    assert all(math.isfinite(v) for v in [*real.values(), *noise.values()])
    assert real["fid"] < noise["fid"] / 20
    assert real["is_mean"] > 8.0 and noise["is_mean"] < 2.0  # 10 classes, confidently and evenly predicted
    assert real["kid_std"] > 0 and abs(real["kid_mean"]) < 3 * real["kid_std"] < noise["kid_mean"]
    assert min(real["precision"], real["recall"], real["coverage"]) > 0.9
    assert real["density"] == pytest.approx(1.0, abs=0.15)
    assert noise["recall"] < 0.05 and noise["coverage"] < 0.05 and noise["density"] < 0.5


def test_protocol_is_recorded(scores):
    evaluator, _, _ = scores
    protocol = evaluator.protocol
    assert protocol["extractor"] == "lenet" and protocol["heldout_accuracy"] >= 0.96
    assert protocol["num_real"] == protocol["num_fake"] == 2500 and protocol["kid_subset_size"] == 1000
    assert protocol["features"] == "penultimate layer (128-d)"
    assert protocol["reference"] == "first n of a fixed permutation of the training images"


def test_evaluation_leaves_the_rng_alone_and_repeats_exactly(lenet, halves, tmp_path):
    evaluator = evaluator_on(halves[0], lenet.model, lenet.info, 200, tmp_path, kid_subset_size=1000)
    assert evaluator.protocol["kid_subset_size"] == 200
    perm = torch.randperm(2500, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(evaluator.reference.features, lenet.model(halves[0][perm[:200]]))  # the reference set
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = evaluator(batches(halves[1][:200]))
    assert torch.equal(torch.get_rng_state(), state)
    assert evaluator(batches(halves[1][:200])) == first  # IS splits and KID subsets drawn from a fixed seed
    assert evaluator([halves[1][:200]]) == pytest.approx(first, rel=1e-9)  # the same images in other batches


def test_too_few_samples_is_a_user_error(lenet, halves, tmp_path):
    with pytest.raises(UserError, match="metrics.num_samples=5 is too small"):
        evaluator_on(halves[0], lenet.model, lenet.info, 5, tmp_path)


class _Recorder(nn.Module):
    """Looks like torch-fidelity's Inception from outside: uint8 RGB in, (features, logits) out."""

    def forward(self, x):
        self.seen = x
        return x.flatten(1)[:, :4].float(), x.flatten(1)[:, 4:6].float()


def test_inception_gets_uint8_rgb():
    grey = torch.tensor([-1.0, 0.0, 1.0, 0.5]).view(1, 1, 2, 2)
    recorder = _Recorder()
    InceptionFeatures(recorder).features_and_logits(grey)
    assert recorder.seen.dtype == torch.uint8 and recorder.seen.shape == (1, 3, 2, 2)
    expected = torch.tensor([0, 128, 255, 191], dtype=torch.uint8).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    assert torch.equal(recorder.seen, expected)


def test_inception_path_end_to_end_with_random_weights(tmp_path, monkeypatch, mnist5k):
    # The real weights cannot be downloaded here: save a randomly initialised net in their format instead.
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    empty, weights = tmp_path / "empty.pth", tmp_path / "inception.pth"
    torch.save({}, empty)
    with monkeypatch.context() as patch, torch.random.fork_rng():
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state_dict: None)
        torch.save(FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], str(empty)).state_dict(), weights)
    # Plumbing only, cheaply: Inception resizes every image to 299 px (96 px costs a tenth), and FID's eigenvalues
    # of a 2048 x 2048 non-symmetric matrix take 10-30 s on two CPU cores (the FID math is tested in LeNet space).
    monkeypatch.setattr(FeatureExtractorInceptionV3, "INPUT_IMAGE_SIZE", 96)
    fid_dims = []
    monkeypatch.setattr(fid_module, "_compute_fid", lambda mu1, s1, mu2, s2: fid_dims.append(len(mu1)) or mu1.sum())
    evaluator = evaluator_on(mnist5k.x[:8], load_inception(str(weights)), {"extractor": "inception"}, 8, tmp_path)
    assert evaluator.protocol["features"] == "inception pool3 (2048-d)"
    assert evaluator.protocol["kid_subset_size"] == 8
    result = evaluator([mnist5k.x[-8:]])
    assert set(result) == KEYS and all(math.isfinite(v) for v in result.values())
    assert fid_dims == [2048]
