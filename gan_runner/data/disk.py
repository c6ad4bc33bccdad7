"""Full image data sets read from disk: torchvision's own dataset classes, and folders of image files.

Pixels come back as uint8 [N, C, H, W]; `GanData.samples` brings them to [-1, 1] for the models, batch by batch.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision import datasets
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension
from torchvision.transforms.v2 import functional as TF

from gan_runner.errors import UserError

TORCHVISION_SETS = {
    "mnist": datasets.MNIST,
    "fashion_mnist": datasets.FashionMNIST,
    "cifar10": datasets.CIFAR10,
}
TRAINING_SIZES = {"mnist": 60000, "fashion_mnist": 60000, "cifar10": 50000}  # known before reading the files
PIL_MODES = {1: "L", 3: "RGB"}
DECODE_THREADS = min(8, os.cpu_count() or 1)


def load_torchvision(
    name: str, root: str, download: bool, train: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images uint8 [N, C, H, W] and labels int64 [N] of a torchvision data set under `root`."""
    dataset_cls = torchvision_class(name)
    try:
        dataset = dataset_cls(root, train=train, download=download)
    # torchvision reports missing or corrupt files and failed downloads as multi-line RuntimeErrors, and
    # CIFAR's network errors as OSErrors (URLError).
    except (RuntimeError, OSError) as err:
        if download:
            raise _download_error(name, root, dataset_cls, err) from None
        if isinstance(err, RuntimeError):
            raise _missing_files_error(name, root, dataset_cls) from None
        raise
    return _as_nchw(dataset.data), torch.as_tensor(dataset.targets, dtype=torch.int64)


def torchvision_class(name: str) -> type:
    if name not in TORCHVISION_SETS:
        raise UserError(f"unknown torchvision data set {name!r}; choose one of {', '.join(TORCHVISION_SETS)}")
    return TORCHVISION_SETS[name]


def _files_folder(root: str, dataset_cls: type) -> str:
    # Where torchvision looks: <root>/<ClassName>/raw for the MNIST family, <root>/<base_folder> for CIFAR.
    if issubclass(dataset_cls, datasets.MNIST):
        return os.path.join(root, dataset_cls.__name__, "raw")
    return os.path.join(root, dataset_cls.base_folder)


def _missing_files_error(name: str, root: str, dataset_cls: type) -> UserError:
    folder = _files_folder(root, dataset_cls)
    return UserError(
        f"{name} files missing or corrupted in {folder}; add data.download=true to download them, "
        f"or put the files there (the folder is under data.root={root})"
    )


def _download_error(name: str, root: str, dataset_cls: type, err: Exception) -> UserError:
    folder = _files_folder(root, dataset_cls)
    reason = _last_line(str(err)) or type(err).__name__
    return UserError(
        f"{name} download failed ({reason}); download the files by hand into {folder} "
        f"and run with data.root={root} data.download=false"
    )


def _last_line(text: str) -> str:
    # The last line of torchvision's download report is the actual network error.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _as_nchw(data) -> torch.Tensor:
    # MNIST keeps a uint8 tensor [N, H, W]; CIFAR a numpy array [N, H, W, C].
    images = torch.as_tensor(data)
    if images.ndim == 3:
        return images.unsqueeze(1)
    return images.permute(0, 3, 1, 2).contiguous()


@dataclass
class Listing:
    """The image files of a folder, in a fixed order, and their labels when class subfolders give them."""
    root: str
    paths: list[str]
    labels: torch.Tensor | None

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1 if self.labels is not None else 0


def list_folder(root: str) -> Listing:
    """Lists and never decodes: cheap enough for the checks that run before any work."""
    root = os.path.expanduser(root)  # data.root=~/faces reaches us unexpanded where the shell leaves it
    if not os.path.isdir(root):
        raise UserError(f"image folder {root} does not exist; set data.root= to a folder of images")
    if any(entry.is_dir() for entry in os.scandir(root)):
        paths, labels = _class_folder_images(root)
    else:
        paths, labels = _flat_folder_images(root), None
    if not paths:
        raise UserError(
            f"image folder {root} holds no images ({' '.join(IMG_EXTENSIONS)}); "
            "set data.root= to a folder of images"
        )
    return Listing(root, paths, labels)


def _class_folder_images(root: str) -> tuple[list[str], torch.Tensor]:
    # ImageFolder only lists files here; decoding is ours so that it runs in threads. allow_empty lets a stray
    # empty subfolder pass; a folder with no images at all is caught by the caller.
    folder = datasets.ImageFolder(root, allow_empty=True)
    return [path for path, _ in folder.samples], torch.as_tensor(folder.targets, dtype=torch.int64)


def _flat_folder_images(root: str) -> list[str]:
    names = sorted(name for name in os.listdir(root) if has_file_allowed_extension(name, IMG_EXTENSIONS))
    return [os.path.join(root, name) for name in names]


def decode_into(paths: list[str], channels: int, size: int, out: np.ndarray) -> None:
    """Decode every image, squared to `size` px, into out[i] (uint8 [N, channels, size, size], e.g. a memory map)."""
    mode = PIL_MODES[channels]

    def decode(i: int) -> None:
        out[i] = _decode(paths[i], mode, size).numpy()

    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        # map re-raises the first failure in path order, so the error names the first bad file.
        list(pool.map(decode, range(len(paths))))


def _decode(path: str, mode: str, size: int) -> torch.Tensor:
    try:
        with Image.open(path) as opened:
            image = opened.convert(mode)
    except OSError as err:  # PIL's UnidentifiedImageError and truncated files are both OSErrors
        reason = _last_line(str(err)) or type(err).__name__
        raise UserError(f"unreadable image file {path} ({reason}); remove or replace it") from None
    return _square(TF.pil_to_tensor(image), size)


def _square(image: torch.Tensor, size: int) -> torch.Tensor:
    # Shorter side to `size`, then the centre: keeps the aspect ratio, never stretches.
    return TF.center_crop(TF.resize(image, size, antialias=True), size)

