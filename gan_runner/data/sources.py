"""Full data sets on disk, brought into the form the trainer uses: uint8 pixels, converted batch by batch."""
from omegaconf import DictConfig

from gan_runner.checks import ConfigError, checked_by, positive
from gan_runner.data.checks import check_size
from gan_runner.data.dataset import GanData
from gan_runner.data.decoded import decoded_folder, folder_key
from gan_runner.data.disk import PIL_MODES, TRAINING_SIZES, list_folder, load_torchvision, torchvision_class
from gan_runner.data.resize import resize_images
from gan_runner.errors import UserError


def _check_torchvision(args: dict, cfg: DictConfig) -> None:
    torchvision_class(args["name"])
    positive(args, "image_size")
    check_size(TRAINING_SIZES[args["name"]], cfg, f"{args['name']} training images")


@checked_by(_check_torchvision)
def torchvision_set(name: str, root: str, download: bool, image_size: int) -> GanData:
    images, labels = load_torchvision(name, root, download)
    return GanData(name, resize_images(images, image_size), labels, num_classes=int(labels.max()) + 1)


def _check_folder(args: dict, cfg: DictConfig) -> None:
    """Lists the folder (never decodes): its size against the batch and the evaluation, its labels against the
    feature space that needs them."""
    positive(args, "image_size")
    if args["channels"] not in PIL_MODES:
        raise ConfigError("channels", "must be 1 (grayscale) or 3 (RGB)")
    listing = list_folder(args["root"])
    check_size(len(listing.paths), cfg, f"images in data.root={args['root']}")
    if listing.labels is None and cfg.metrics.extractor == "lenet":
        raise UserError(f"data.root={args['root']} has no class subfolders, so no labels to train the LeNet feature "
                        "space on: use metrics.extractor=auto (random features, no labels needed) or "
                        "metrics.extractor=inception")


@checked_by(_check_folder)
def image_folder(root: str, image_size: int, channels: int, cache_dir: str) -> GanData:
    """Decoded once into `cache_dir` (shared by every job and rank), then memory-mapped."""
    listing = list_folder(root)
    pixels, key = decoded_folder(listing, image_size, channels, cache_dir)
    return GanData("folder", pixels, listing.labels, num_classes=listing.num_classes, content_id=key)


def _folder_content(args: dict) -> dict:
    """What the run trains on, known without decoding: the folder, its image count and its decode cache's key (a hash
    of the files' relative paths, sizes and modification times). Part of a run's identity (identity.py)."""
    listing = list_folder(args["root"])
    return {"root": args["root"], "images": len(listing.paths),
            "key": folder_key(listing, args["image_size"], args["channels"])}


# The other sources are fixed files or drawn from the config: a folder is the one whose contents the user changes.
image_folder.content = _folder_content
