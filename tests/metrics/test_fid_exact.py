"""FID against its closed form: features whose empirical means and covariances are exactly chosen Gaussians' go
through the runner's own path (reference, torchmetrics' FID filled and updated by the evaluator), and must give
||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), computed here independently with scipy."""
import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from gan_runner.data.dataset import GanData
from gan_runner.metrics.image import ImageEvaluator
from gan_runner.metrics.reference import sample_reference, train_set_reference

DIM, N = 12, 400


class Identity(nn.Module):
    """A feature space that is the input itself: "images" [n, d, 1, 1] are their own features, in float64."""

    kind, num_classes = "identity", 0

    def features_and_logits(self, images):
        return images.flatten(1), None


def gaussian(seed):
    """A mean and a well-conditioned covariance."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(DIM, DIM))
    return rng.normal(size=DIM) * 2, a @ a.T / DIM + 0.5 * np.eye(DIM)


def with_exact_moments(mean, cov, seed):
    """N samples whose empirical mean is `mean` and whose (N - 1)-normalised covariance is `cov`, exactly."""
    x = torch.randn(N, DIM, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x -= x.mean(dim=0)
    whiten = torch.linalg.inv(torch.linalg.cholesky(x.T @ x / (N - 1)))
    x = x @ whiten.T @ torch.linalg.cholesky(torch.from_numpy(cov)).T + torch.from_numpy(mean)
    return x.view(N, DIM, 1, 1)


def closed_form(mean1, cov1, mean2, cov2):
    root = scipy.linalg.sqrtm(cov1 @ cov2).real
    return float(np.sum((mean1 - mean2) ** 2) + np.trace(cov1 + cov2 - 2 * root))


@pytest.mark.parametrize("reference", [sample_reference, train_set_reference])
@pytest.mark.parametrize("seeds", [(0, 1), (2, 3)])
def test_fid_of_two_gaussians_is_exact(tmp_path, reference, seeds):
    (mean1, cov1), (mean2, cov2) = gaussian(seeds[0]), gaussian(seeds[1])
    real, fake = with_exact_moments(mean1, cov1, 10), with_exact_moments(mean2, cov2, 11)
    assert torch.allclose(real.flatten(1).mean(0), torch.from_numpy(mean1), atol=1e-12)  # the construction holds
    assert torch.allclose(torch.cov(real.flatten(1).T), torch.from_numpy(cov1), atol=1e-12)

    args = (GanData("exact", real), Identity(), tmp_path)
    real_side = reference(args[0], N, *args[1:]) if reference is sample_reference else reference(*args)
    evaluator = ImageEvaluator(Identity(), real_side, {"extractor": "identity"}, N)
    fid = evaluator(fake.split(64))["fid"]  # batch by batch, as generated images arrive
    expected = closed_form(mean1, cov1, mean2, cov2)
    assert expected > 1.0
    assert fid == pytest.approx(expected, rel=1e-9)


def test_identical_gaussians_have_zero_fid(tmp_path):
    mean, cov = gaussian(4)
    real, fake = with_exact_moments(mean, cov, 12), with_exact_moments(mean, cov, 13)
    evaluator = ImageEvaluator(Identity(), train_set_reference(GanData("exact", real), Identity(), tmp_path),
                               {"extractor": "identity"}, N)
    assert not torch.equal(real, fake)
    assert abs(evaluator([fake])["fid"]) < 1e-9
