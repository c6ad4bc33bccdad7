"""The scale of the image metrics in one of gan-runner's feature spaces: real images against other real images, and
against degraded ones, with the same protocol as a run's evaluation.

    .venv/bin/python scripts/fid_scale.py [--data mnist5k|digits|folder] [--root DIR] [--extractor lenet|random]
                                          [--n 2500]

Prints one table: FID, IS (classifier spaces), KID and precision/recall/density/coverage for each comparison. The
reference is the first n of the run's fixed permutation of the training set, the "fakes" the next n, as they are or
degraded, read batch by batch.
"""
import argparse

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from gan_runner.data import embedded
from gan_runner.data.sources import image_folder
from gan_runner.metrics import spaces
from gan_runner.metrics.image import ImageEvaluator
from gan_runner.preflight import CONFIG_DIR

COLUMNS = ["fid", "is_mean", "kid_mean", "precision", "recall", "density", "coverage"]
BATCH = 500


def degradations(g: torch.Generator) -> dict:
    return {
        "real vs other real": lambda x: x,
        "real vs blurred real (3x3 box)": lambda x: F.avg_pool2d(x, 3, 1, 1),
        "real vs real + noise (std 0.1)": lambda x: (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(-1, 1),
        "real vs brighter real (+0.2)": lambda x: (x + 0.2).clamp(-1, 1),
        "real vs uniform noise": lambda x: torch.rand(x.shape, generator=g) * 2 - 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist5k", choices=["mnist5k", "digits", "folder"])
    parser.add_argument("--root", help="the image folder, with --data folder")
    parser.add_argument("--image-size", type=int, default=64, help="with --data folder")
    parser.add_argument("--extractor", default="lenet", choices=["lenet", "random"])
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--cache", default=None, help="cache folder (default: the runner's)")
    args = parser.parse_args()
    metrics = OmegaConf.load(CONFIG_DIR / "metrics" / "default.yaml")
    cache = args.cache or OmegaConf.select(metrics, "cache_dir")
    if args.data == "folder":
        data = image_folder(args.root, args.image_size, 3, f"{cache}/decoded")
    else:
        data = getattr(embedded, args.data)()
    cfg = OmegaConf.create({"extractor": args.extractor, "cache_dir": cache, "inception_weights": None,
                            "reference": "sample", "num_samples": args.n})
    extractor, protocol = spaces.feature_space(cfg, data)
    evaluator = ImageEvaluator(extractor, spaces.reference(cfg, data, extractor, "cpu"), protocol, args.n)
    # The run's reference is the first n of this permutation; the next n stand in for generated images.
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    others = perm[args.n: 2 * args.n]
    cases = degradations(torch.Generator().manual_seed(1))
    if data.y is not None:  # a semantic failure: a generator that dropped half the classes
        half = perm[args.n:][data.y[perm[args.n:]] < data.num_classes // 2][: args.n]
        cases[f"real vs only classes < {data.num_classes // 2} (n={len(half)})"] = half

    accuracy = f", held-out accuracy {protocol['heldout_accuracy']:.3f}" if "heldout_accuracy" in protocol else ""
    print(f"{args.data}, {args.n} vs {args.n} images, {protocol['extractor']} space{accuracy}")
    print(f"{'comparison':<40}" + "".join(f"{c:>11}" for c in COLUMNS))
    for name, case in cases.items():
        index, change = (case, lambda x: x) if isinstance(case, torch.Tensor) else (others, case)
        result = evaluator(change(data.samples(idx)) for idx in index.split(BATCH))
        print(f"{name:<40}" + "".join(f"{result[c]:>11.3f}" if c in result else f"{'-':>11}" for c in COLUMNS))


if __name__ == "__main__":
    main()
