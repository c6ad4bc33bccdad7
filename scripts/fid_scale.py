"""The scale of the image metrics in gan-runner's LeNet feature space: real vs other real images, and real vs
noise, with the same protocol as a run's evaluation.

    .venv/bin/python scripts/fid_scale.py [--data mnist5k|digits] [--n 2500]

Prints one table: FID, IS, KID and precision/recall/density/coverage for each comparison.
"""
import argparse

import torch

from gan_runner.data import embedded
from gan_runner.metrics.extractor import load_or_train_extractor
from gan_runner.metrics.image import ImageEvaluator

COLUMNS = ["fid", "is_mean", "kid_mean", "precision", "recall", "density", "coverage"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist5k", choices=["mnist5k", "digits"])
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--cache", default=None, help="extractor cache folder (default: the runner's)")
    args = parser.parse_args()
    from omegaconf import OmegaConf

    from gan_runner.preflight import CONFIG_DIR

    cache = args.cache or OmegaConf.select(OmegaConf.load(CONFIG_DIR / "metrics" / "default.yaml"), "cache_dir")
    data = getattr(embedded, args.data)()
    extractor, protocol = load_or_train_extractor(data.x, data.y, f"{data.name}-{'x'.join(map(str, data.x.shape[1:]))}",
                                                  cache, data.num_classes)
    # Two disjoint halves: the evaluator's reference is the first n of a fixed permutation, the rest is "fake".
    perm = torch.randperm(len(data.x), generator=torch.Generator().manual_seed(0))
    reference, other = data.x[perm[: args.n]], data.x[perm[args.n: 2 * args.n]]
    evaluator = ImageEvaluator(reference, extractor, protocol, args.n)
    g = torch.Generator().manual_seed(1)
    cases = {"real vs other real": other,
             "real vs uniform noise": torch.rand(other.shape, generator=g) * 2 - 1,
             "real vs blurred real": torch.nn.functional.avg_pool2d(other, 3, 1, 1)}
    print(f"{args.data}, {args.n} vs {args.n} images, LeNet space (held-out accuracy "
          f"{protocol['heldout_accuracy']:.3f})")
    print(f"{'comparison':<24}" + "".join(f"{c:>11}" for c in COLUMNS))
    for name, images in cases.items():
        result = evaluator(images)
        print(f"{name:<24}" + "".join(f"{result[c]:>11.3f}" for c in COLUMNS))


if __name__ == "__main__":
    main()
