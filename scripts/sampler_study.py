"""Seed 003's sampler question: does shuffling by epoch (every sample once per epoch) rather than drawing with
replacement change mode coverage? The ring (the toy_ring preset) and mnist5k (the default run), each seed
under both samplers, each sampler's seeds trained together (hydra/launcher=ensemble).

    .venv/bin/python scripts/sampler_study.py [--ring-seeds 10] [--mnist-seeds 5] [--data ring mnist5k] [--jobs 2]
        [--out outputs/sampler_study] [--docs docs] [--table-only] [--override KEY=VALUE ...]

Every (data, sampler) is one `gan-runner -m hydra/launcher=ensemble ...` multirun into <out>/<data>_<sampler>, so the
same command resumes. Prints and writes docs/sampler_study.md: each metric's mean ± standard error per sampler, their
difference, and an exact two-sided permutation test of it (every split of the seeds into two groups of their sizes:
the p-value is how often a split differs by at least as much as the samplers do, were the sampler irrelevant).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
from gan_runner.studies import mean_se, permutation_p, write_page  # noqa: E402

ROOT = Path(__file__).parents[1]
SAMPLERS = ("epoch", "replacement")
# data -> (the recipe, the metrics that measure coverage, with the way each is better)
RECIPES = {
    "ring": (["experiment=toy_ring"],
             {"modes": "higher", "hq_percent": "higher", "reverse_kl": "lower", "w1": "lower"}),
    "mnist5k": ([], {"classes_covered": "higher", "class_kl": "lower", "recall": "higher", "coverage": "higher",
                     "fid": "lower"}),
}


def folder(out: str, data: str, sampler: str) -> Path:
    return Path(out) / f"{data}_{sampler}"


def command(data: str, sampler: str, seeds: int, args) -> list[str]:
    return [str(Path(sys.executable).parent / "gan-runner"), "-m", "hydra/launcher=ensemble", *RECIPES[data][0],
            f"data.sampler={sampler}", f"seed={','.join(map(str, range(seeds)))}", "metrics.every_n_steps=0",
            "trainer.enable_progress_bar=false", *args.override,
            f"hydra.sweep.dir={folder(args.out, data, sampler)}", "hydra.sweep.subdir=seed${seed}"]


def train(data: str, sampler: str, seeds: int, args) -> float:
    start = time.time()
    log = folder(args.out, data, sampler).with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as stream:
        done = subprocess.run(command(data, sampler, seeds, args), stdout=stream, stderr=subprocess.STDOUT, cwd=ROOT,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"})
    if done.returncode:
        print(f"{data} {sampler}: gan-runner exited {done.returncode}, see {log}", flush=True)
    return time.time() - start


def finals(out: str, data: str, sampler: str, seeds: int) -> list[dict]:
    """The final metrics of the completed seeds 0 .. seeds - 1, in seed order."""
    runs = []
    for seed in range(seeds):
        path = folder(out, data, sampler) / f"seed{seed}" / "metrics.json"
        record = json.loads(path.read_text()) if path.exists() else {}
        if record.get("status") == "completed":
            runs.append(record["metrics"]["final"])
    return runs


def rows(args) -> list[str]:
    lines = ["| data | metric (better) | epoch | replacement | replacement − epoch | permutation p | verdict |",
             "|---|---|---|---|---|---|---|"]
    for data in args.data:
        seeds = args.ring_seeds if data == "ring" else args.mnist_seeds
        runs = {s: finals(args.out, data, s, seeds) for s in SAMPLERS}
        if min(len(r) for r in runs.values()) < 2:
            lines.append(f"| {data} | — | {len(runs['epoch'])} seeds | {len(runs['replacement'])} seeds | | | |")
            continue
        for metric, better in RECIPES[data][1].items():
            # reverse KL has no value (nan) where no sample is high quality: such seeds are left out of its row
            a, b = ([v for v in (float(r[metric]) for r in runs[s]) if math.isfinite(v)] for s in SAMPLERS)
            if min(len(a), len(b)) < 2:
                lines.append(f"| {data} | {metric} ({better}) | {len(a)} values | {len(b)} values | | | |")
                continue
            (ma, sa), (mb, sb) = mean_se(a), mean_se(b)
            p = permutation_p(b, a) if statistics.pstdev(a + b) > 0 else 1.0
            verdict = "differs beyond seed noise" if p < 0.05 else "no difference beyond seed noise"
            lines.append(f"| {data} | {metric} ({better}) | {ma:.3g} ± {sa:.2g} | {mb:.3g} ± {sb:.2g} | "
                         f"{mb - ma:+.3g} ± {math.hypot(sa, sb):.2g} | {p:.3f} | {verdict} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ring-seeds", type=int, default=10)
    parser.add_argument("--mnist-seeds", type=int, default=5)
    parser.add_argument("--data", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="(data, sampler) multiruns at once")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "sampler_study"))
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--table-only", action="store_true", help="rebuild the report from the runs under --out")
    parser.add_argument("--override", action="append", default=[], help="a gan-runner override for every run")
    args = parser.parse_args()
    start = time.time()
    if not args.table_only:
        configs = [(d, s, args.ring_seeds if d == "ring" else args.mnist_seeds) for d in args.data for s in SAMPLERS]
        with ThreadPoolExecutor(args.jobs) as pool:
            for (data, sampler, _), seconds in zip(configs, pool.map(lambda c: train(*c, args), configs)):
                print(f"{data} {sampler}: {seconds:.0f} s", flush=True)
    flags = (f"--ring-seeds {args.ring_seeds} --mnist-seeds {args.mnist_seeds} --data {' '.join(args.data)} "
             f"--jobs {args.jobs}" + "".join(f" --override {o}" for o in args.override))
    report = ["# Seed 003's sampler question: epoch shuffling vs sampling with replacement", "",
              f"`.venv/bin/python scripts/sampler_study.py {flags}`"
              + ("" if args.table_only else f" ({(time.time() - start) / 60:.0f} min)") + ": the ring with the "
              "toy_ring preset (NS loss, MLP width 256, batch 256, Adam 1e-3, 3,000 iterations), mnist5k with the "
              "default run; seeds 0 .. n-1 under each sampler. Mean ± standard error over seeds; the difference's "
              "error is the two errors combined; p from an exact permutation test of the difference (two-sided; "
              "with 5 + 5 seeds the smallest possible p is 2/252 = 0.008).", "", *rows(args), ""]
    write_page(Path(args.docs) / "sampler_study.md", report)
    print("\n".join(report))


if __name__ == "__main__":
    main()
