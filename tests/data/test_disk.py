"""torchvision's loaders against small files in the real on-disk formats, written here."""
import hashlib
import pickle
import struct
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar as tv_cifar
import torchvision.datasets.mnist as tv_mnist
from torchvision import datasets

from gan_runner.data.dataset import to_unit_range
from gan_runner.data.disk import load_torchvision
from gan_runner.data.resize import resize_images
from gan_runner.errors import UserError

IDX_IMAGES_MAGIC = 0x0803  # unsigned byte data, 3 dimensions
IDX_LABELS_MAGIC = 0x0801  # unsigned byte data, 1 dimension


def random_pixels(shape, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    pixels.flat[0], pixels.flat[1] = 0, 255  # both ends of the range, so [-1, 1] is reached exactly
    return pixels


def write_idx_images(path, images):
    n, h, w = images.shape
    path.write_bytes(struct.pack(">IIII", IDX_IMAGES_MAGIC, n, h, w) + images.tobytes())


def write_idx_labels(path, labels):
    path.write_bytes(struct.pack(">II", IDX_LABELS_MAGIC, len(labels)) + labels.tobytes())


def write_mnist_family(root, class_name):
    """Uncompressed IDX files in <root>/<class_name>/raw, where torchvision's MNIST reads them, unchecked."""
    raw = root / class_name / "raw"
    raw.mkdir(parents=True)
    written = {}
    for seed, (split, n) in enumerate([("train", 7), ("t10k", 3)]):
        images = random_pixels((n, 28, 28), seed)
        labels = np.arange(n, dtype=np.uint8) % 10
        write_idx_images(raw / f"{split}-images-idx3-ubyte", images)
        write_idx_labels(raw / f"{split}-labels-idx1-ubyte", labels)
        written[split] = images, labels
    return written


def write_cifar10(root):
    """The python pickle batches, and expected md5 sums made from these files for torchvision to check."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written = {}
    for seed, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        rows = random_pixels((2, 3 * 32 * 32), seed)  # each row: 1024 red, 1024 green, 1024 blue, row-major
        labels = [seed % 10, (seed + 3) % 10]
        filenames = [f"{name}_{i}.png" for i in range(2)]
        batch = {"batch_label": name, "labels": labels, "data": rows, "filenames": filenames}
        (folder / name).write_bytes(pickle.dumps(batch))
        written[name] = rows, labels
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    meta = {"label_names": names, "num_cases_per_batch": 2, "num_vis": 3 * 32 * 32}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return written


@pytest.fixture
def cifar_md5_of_test_files(monkeypatch):
    """Point CIFAR10's expected checksums at the test's own files: the real check then runs and passes."""

    def register(root):
        folder = root / "cifar-10-batches-py"

        def md5(name):
            return hashlib.md5((folder / name).read_bytes()).hexdigest()

        cifar = datasets.CIFAR10
        monkeypatch.setattr(cifar, "train_list", [[name, md5(name)] for name, _ in cifar.train_list])
        monkeypatch.setattr(cifar, "test_list", [[name, md5(name)] for name, _ in cifar.test_list])
        monkeypatch.setattr(cifar, "meta", {**cifar.meta, "md5": md5(cifar.meta["filename"])})

    return register


@pytest.mark.parametrize("name, class_name", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
@pytest.mark.parametrize("train, split", [(True, "train"), (False, "t10k")])
def test_mnist_family_round_trips(tmp_path, name, class_name, train, split):
    pixels, labels = write_mnist_family(tmp_path, class_name)[split]
    images, targets = load_torchvision(name, str(tmp_path), download=False, train=train)
    assert images.dtype == torch.uint8 and images.shape == (len(pixels), 1, 28, 28)
    assert torch.equal(images[:, 0], torch.from_numpy(pixels))
    assert targets.dtype == torch.int64 and targets.tolist() == labels.tolist()


def test_cifar10_round_trips(tmp_path, cifar_md5_of_test_files):
    written = write_cifar10(tmp_path)
    cifar_md5_of_test_files(tmp_path)
    images, targets = load_torchvision("cifar10", str(tmp_path), download=False)
    batches = [written[f"data_batch_{i}"] for i in range(1, 6)]
    expected = np.concatenate([rows for rows, _ in batches]).reshape(-1, 3, 32, 32)
    assert images.dtype == torch.uint8 and images.shape == (10, 3, 32, 32)
    assert torch.equal(images, torch.from_numpy(expected))
    assert targets.dtype == torch.int64
    assert targets.tolist() == [label for _, labels in batches for label in labels]


def test_cifar10_test_split(tmp_path, cifar_md5_of_test_files):
    rows, labels = write_cifar10(tmp_path)["test_batch"]
    cifar_md5_of_test_files(tmp_path)
    images, targets = load_torchvision("cifar10", str(tmp_path), download=False, train=False)
    assert torch.equal(images, torch.from_numpy(rows.reshape(-1, 3, 32, 32)))
    assert targets.tolist() == labels


def test_unit_range_of_loaded_images(tmp_path):
    write_mnist_family(tmp_path, "MNIST")
    images, _ = load_torchvision("mnist", str(tmp_path), download=False)
    x = to_unit_range(images)
    assert x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.equal(((x + 1) * 127.5).round().to(torch.uint8), images)


EXPECTED_FOLDERS = [
    ("mnist", "MNIST/raw"),
    ("fashion_mnist", "FashionMNIST/raw"),
    ("cifar10", "cifar-10-batches-py"),
]


@pytest.mark.parametrize("name, folder", EXPECTED_FOLDERS)
def test_missing_files_is_one_line_naming_folder_and_download(tmp_path, name, folder):
    with pytest.raises(UserError) as err:
        load_torchvision(name, str(tmp_path), download=False)
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / folder) in message and "data.download=true" in message and "data.root=" in message


def test_cifar10_with_wrong_checksums_reads_as_missing(tmp_path):
    write_cifar10(tmp_path)  # real torchvision md5 sums: these files do not match them
    with pytest.raises(UserError, match="data.download=true"):
        load_torchvision("cifar10", str(tmp_path), download=False)


def offline(*args, **kwargs):
    raise URLError("[Errno -3] Temporary failure in name resolution")


@pytest.mark.parametrize("name, module", [("mnist", tv_mnist), ("cifar10", tv_cifar)])
def test_failed_download_is_one_line(tmp_path, monkeypatch, name, module):
    monkeypatch.setattr(module, "download_and_extract_archive", offline)  # no network, and no waiting for it
    with pytest.raises(UserError) as err:
        load_torchvision(name, str(tmp_path), download=True)
    message = str(err.value)
    assert "\n" not in message
    assert "download failed" in message and "name resolution" in message and str(tmp_path) in message


def test_unknown_torchvision_name(tmp_path):
    with pytest.raises(UserError, match="cifar10"):
        load_torchvision("svhn", str(tmp_path), download=False)


@pytest.mark.parametrize("size", [16, 32, 28])
def test_resize_images_keeps_dtype_and_flat_colour(size):
    images = torch.full((2, 1, 28, 28), 77, dtype=torch.uint8)
    resized = resize_images(images, size)
    assert resized.dtype == torch.uint8 and resized.shape == (2, 1, size, size)
    assert torch.equal(resized, torch.full_like(resized, 77))


def test_resize_images_of_float_stays_float():
    images = to_unit_range(torch.from_numpy(random_pixels((2, 3, 32, 32), seed=1)))
    resized = resize_images(images, 16)
    assert resized.dtype == torch.float32 and resized.shape == (2, 3, 16, 16)
    assert resized.min() >= -1 and resized.max() <= 1
