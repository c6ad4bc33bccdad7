"""Full data sets on disk, brought into the in-memory form the trainer uses."""
from gan_runner.data.dataset import GanData
from gan_runner.data.disk import load_folder, load_torchvision, to_unit_range
from gan_runner.data.resize import resize_images


def torchvision_set(name: str, root: str, download: bool, image_size: int) -> GanData:
    images, labels = load_torchvision(name, root, download)
    x = to_unit_range(resize_images(images, image_size))
    return GanData(name, x, labels, num_classes=int(labels.max()) + 1)


def image_folder(root: str, image_size: int, channels: int) -> GanData:
    images, labels = load_folder(root, image_size, channels)
    num_classes = int(labels.max()) + 1 if labels is not None else 0
    return GanData("folder", to_unit_range(images), labels, num_classes=num_classes)
