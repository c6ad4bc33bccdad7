"""Class metrics on hand-made cases, and with the real LeNet classifier on real digits."""
import math

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm

from gan_runner.metrics.classes import (
    ClassMetrics,
    class_kl,
    classes_covered,
    frechet_distance,
    gaussian,
    majority,
    matched_accuracy,
    matching,
)


def test_class_kl_of_a_known_histogram():
    uniform = torch.full((10,), 0.1, dtype=torch.float64)
    assert class_kl(torch.arange(1000) % 10, uniform) == pytest.approx(0.0, abs=1e-12)
    # half the samples in class 0, half in class 1: KL = 2 * 0.5 log(0.5 / 0.1) = log 5
    assert class_kl(torch.tensor([0, 1] * 50), uniform) == pytest.approx(math.log(5))
    # one class only: log 10, the most a collapsed generator can score against 10 balanced classes
    assert class_kl(torch.zeros(7, dtype=torch.long), uniform) == pytest.approx(math.log(10))
    skewed = torch.tensor([0.4, 0.6], dtype=torch.float64)  # q = (0.5, 0.5) against p = (0.4, 0.6)
    by_hand = 0.5 * math.log(0.5 / 0.4) + 0.5 * math.log(0.5 / 0.6)
    assert class_kl(torch.tensor([0, 1]), skewed) == pytest.approx(by_hand)


def test_a_class_is_covered_from_one_percent_of_the_samples():
    predicted = torch.cat([torch.zeros(890), torch.ones(100), torch.full((10,), 2), torch.full((9,), 3)]).long()
    assert classes_covered(predicted[:1000], 10) == 3  # class 2 holds 10 of 1000 samples: exactly 1%
    assert classes_covered(torch.cat([predicted[:990], predicted[1000:]]), 10) == 2  # class 3: 9 of 999 < 1%


def test_hungarian_matching_undoes_a_permutation():
    labels = torch.arange(1000) % 10
    permutation = torch.tensor([3, 7, 0, 9, 1, 4, 8, 2, 6, 5])
    clusters = permutation[labels]
    mapping, accuracy = matching(clusters, labels, 10, 10)
    assert accuracy == 1.0 and all(mapping[int(permutation[c])] == c for c in range(10))
    # 5% of the samples moved to another cluster: 95% right; a plain `clusters == labels` would say 10%
    noisy = clusters.clone()
    noisy[::20] = (noisy[::20] + 1) % 10
    assert matched_accuracy(noisy, labels, 10, 10) == pytest.approx(0.95)
    assert (noisy == labels).double().mean() < 0.2
    # more clusters than classes: each class keeps its best cluster; the others count as wrong
    assert matched_accuracy(torch.arange(20) % 20, torch.arange(20) % 10, 20, 10) == pytest.approx(0.5)


def test_majority_reads_each_cluster_as_its_most_frequent_class():
    labels = torch.arange(1000) % 10
    split = labels + 10 * (torch.arange(1000) // 10 % 2)  # every class split over two clusters of 20
    mapping, purity = majority(split, labels, 20, 10)
    assert purity == 1.0 and all(mapping[k] == k % 10 for k in range(20))
    assert matched_accuracy(split, labels, 20, 10) == pytest.approx(0.5)  # one to one: half the samples
    # merged classes: 4 and 9 share one cluster, which reads as one of them; the empty cluster reads as nothing
    merged = labels.clone()
    merged[labels == 9] = 4
    mapping, purity = majority(merged, labels, 10, 10)
    assert 9 not in mapping and mapping[4] in (4, 9) and purity == pytest.approx(0.9)


def test_frechet_distance_is_the_fid_formula():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 6, generator=g), torch.randn(300, 6, generator=g) * 1.5 + 0.3
    x, y = a.double().numpy(), b.double().numpy()
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)  # written out with scipy's matrix square root
    by_hand = ((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s_x + s_y - 2 * sqrtm(s_x @ s_y).real)
    assert frechet_distance(gaussian(a), gaussian(b)) == pytest.approx(by_hand, rel=1e-6)
    assert frechet_distance(gaussian(a), gaussian(a)) == pytest.approx(0.0, abs=1e-6)


@pytest.fixture(scope="module")
def class_metrics(lenet, mnist5k):
    images, labels = mnist5k.x, mnist5k.y
    perm = torch.randperm(5000, generator=torch.Generator().manual_seed(3))
    return ClassMetrics(lenet.model, images[perm[:2500]], labels[perm[:2500]], 10), images[perm[2500:]], \
        labels[perm[2500:]]


def test_real_digits_with_their_labels_score_like_the_classifier(class_metrics, lenet):
    metrics, images, labels = class_metrics
    result = metrics(images, labels)
    assert result["class_accuracy"] >= 0.97 and result["classes_covered"] == 10 and result["class_kl"] < 0.01
    shuffled = metrics(images, labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))])
    assert shuffled["class_accuracy"] < 0.15  # labels that do not say what the images show: chance
    assert shuffled["intra_fid"] > 5 * result["intra_fid"]
    assert set(metrics(images, None)) == {"class_kl", "classes_covered"}  # unconditional samples


def test_a_collapsed_generator_covers_few_classes(class_metrics):
    metrics, images, labels = class_metrics
    three = images[labels < 3]
    result = metrics(three, None)
    assert result["classes_covered"] == 3 and result["class_kl"] == pytest.approx(math.log(10 / 3), abs=0.05)
