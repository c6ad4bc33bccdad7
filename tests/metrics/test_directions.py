"""Every metric an evaluation reports has joined the registry of directions (metrics/directions.py): images with
labels, each variant's own metrics, 2-D points, the Dirac-GAN and Stacked MNIST. A new metric that did not join
fails here."""
import shutil

import hydra.utils
import torch

from gan_runner.build import build_module
from gan_runner.evaluation import build_evaluation
from gan_runner.metrics import directions

EVALUATED = {
    "ring": ["data=ring", "model=mlp", "metrics.num_samples=200"],
    "images": ["data=digits", "model.width=8", "metrics.num_samples=200", "metrics.kid_subset_size=100"],
    "dirac": ["experiment=dirac", "metrics.num_samples=64", "optimizer.ema_decay=0.5"],  # EMA: ema_theta too
    "stacked": ["data=stacked_mnist", "data.source.n=1000", "model=dcgan", "model.width=4",
                "metrics.num_samples=200"],
}
# the plain GAN, the class-conditional metrics and the variants' own
# (deepsim's comparator is the cached evaluation LeNet here, seed 0, not a second one to train)
VARIANTS = ["cgan", "infogan", "catgan", "semisupervised", "vaegan", "deepsim variant.comparator_seed=0"]


def reported(cfg) -> set[str]:
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data)
    module.training_data(data)  # as a run tells its module before any evaluation
    return set(build_evaluation(cfg.metrics, data, torch.device("cpu"))(module))


def test_every_reported_metric_has_a_direction(cfg_factory, seeded_cache, lenet):
    shutil.copytree(lenet.cache, seeded_cache, dirs_exist_ok=True)  # Stacked MNIST reads mnist5k's classifier
    names = set()
    for overrides in [*EVALUATED.values(), *([*EVALUATED["images"], *f"variant={v}".split()] for v in VARIANTS)]:
        names |= reported(cfg_factory([*overrides, "metrics.pictures=false"]))
    assert {"fid", "precision", "class_accuracy", "cluster_accuracy", "code_accuracy", "w1", "distance"} <= names
    assert [name for name in sorted(names) if not directions.known(name)] == []
    assert set(directions.BETTER) <= names  # and the registry names no metric that nothing reports
