"""The feature space of the image metrics, chosen by `metrics.extractor`, and the real reference it compares with.

auto (default): the LeNet space when the data has labels, else the random space, so an unlabelled folder (CelebA,
FFHQ) trains offline with the defaults. Checked before any work: names, and the Inception file (the data source
checks that a LeNet space has labels to learn from).
"""
from omegaconf import DictConfig

from gan_runner.data.dataset import GanData
from gan_runner.errors import UserError
from gan_runner.metrics.extractor import inception_file, load_inception, load_or_train_extractor, weights_id
from gan_runner.metrics.random_features import random_features
from gan_runner.metrics.reference import Reference, sample_reference, train_set_reference

EXTRACTORS = ("auto", "lenet", "random", "inception")
REFERENCES = ("sample", "train_set")
RANDOM_LIMITS = ("fixed random conv nets: no labels, no download, no IS; ranks runs on the same data, not comparable "
                 "with published (Inception) FIDs; more sensitive to colour, edges and noise than to semantics")


def check(cfg: DictConfig) -> None:
    """`cfg` is the whole config; only the metrics keys are read."""
    metrics = cfg.metrics
    if metrics.extractor not in EXTRACTORS:
        raise UserError(f"metrics.extractor={metrics.extractor!r}: choose {', '.join(EXTRACTORS)}")
    if metrics.reference not in REFERENCES:
        raise UserError(f"metrics.reference={metrics.reference!r}: choose {' or '.join(REFERENCES)}")
    if metrics.extractor == "inception":
        inception_file(metrics.inception_weights)


def feature_space(cfg: DictConfig, data: GanData):
    """(extractor, protocol) of `cfg.extractor` for this data."""
    name, chosen = cfg.extractor, {}
    if name == "auto":
        name = "lenet" if data.y is not None else "random"
        chosen = {"chosen_by": f"metrics.extractor=auto: the data {'has' if data.y is not None else 'has no'} labels"}
    if name == "lenet":
        extractor, protocol = load_or_train_extractor(data, cfg.cache_dir)
    elif name == "random":
        extractor = random_features(data)
        protocol = {"extractor": "random", "weights": weights_id(extractor), "limits": RANDOM_LIMITS}
    else:
        extractor, protocol = load_inception(cfg.inception_weights), {"extractor": "inception"}
    return extractor, {**protocol, **chosen}


def reference(cfg: DictConfig, data: GanData, extractor, device) -> Reference:
    if cfg.reference == "sample":
        return sample_reference(data, cfg.num_samples, extractor, cfg.cache_dir, device)
    return train_set_reference(data, extractor, cfg.cache_dir, device)
