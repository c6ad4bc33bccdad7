"""The variants' proof runs: each variant's preset over six seeds never used for tuning, through the command line.

    .venv/bin/python scripts/variants_proof.py [gan cgan projection acgan infogan catgan] [--out DIR] [--seeds ...]

For each variant: `gan-runner -m experiment=<variant> seed=100,...,105 hydra.sweep.dir=<out>/<variant>` (the plain
GAN: the default run), one sweep after another (one run holds both cores of this machine), then `gan-report` on the
sweep. Every preset was tuned on seeds 0-5 and, for the metrics of real held-out data, on validation digits; the
proof reports other seeds and, where a metric reads real digits (CatGAN's clusters), the test digits never used for
choosing. Each row gives every seed's value, their mean ± standard error, and says whether the threshold holds
beyond one standard error, only within the noise, or not. Writes docs/variants_proof.md and each variant's
pictures from the first seed as docs/variant_<variant>_*.png. A sweep that already finished returns its results
without training again (gan-runner's sweep resume; a sweep cut off resumes its unfinished jobs from their
checkpoints), so a second call only rebuilds the table. Variants not yet run under this protocol are listed as such.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
from gan_runner.studies import mean_se  # noqa: E402
from gan_runner.sweep.collect import collect  # noqa: E402

SEEDS = "100,101,102,103,104,105"  # tuning used seeds 0-5
BIN = Path(sys.executable).parent
# variant -> (metric, threshold, further metrics reported, pictures of the first seed)
PROOF = {
    "gan": ("fid", None, ["classes_covered", "class_kl"], ["final.png"]),
    "cgan": ("class_accuracy", 0.95, ["intra_fid", "fid"], ["final.png"]),
    "projection": ("class_accuracy", 0.95, ["intra_fid", "fid"], ["final.png"]),
    "acgan": ("class_accuracy", 0.95, ["intra_fid", "fid"], ["final.png"]),
    "infogan": ("code_accuracy", 0.90, ["q_accuracy", "fid"],
                ["final.png", "final_traversal_c1.png", "final_traversal_c2.png"]),
    "catgan": ("test_cluster_accuracy", 0.85, ["test_cluster_purity", "cluster_accuracy", "fid", "classes_covered"],
               ["final_clusters.png"]),
}


def verdict(mean: float, error: float, threshold: float) -> str:
    """Whether `mean` clears `threshold` by more than one standard error, only within it, or not at all."""
    if mean - error >= threshold:
        return "met"
    if mean >= threshold:
        return "met only within the noise (mean - SE below it)"
    if mean + error >= threshold:
        return "missed within the noise (mean + SE above it)"
    return "not met"


def command(variant: str, sweep_dir: Path, seeds: str, overrides: list[str]) -> list[str]:
    preset = [] if variant == "gan" else [f"experiment={variant}"]
    return [str(BIN / "gan-runner"), "-m", *preset, f"seed={seeds}", *overrides, f"hydra.sweep.dir={sweep_dir}"]


def run(variant: str, sweep_dir: Path, seeds: str, overrides: list[str]) -> str:
    """Runs (or resumes) the sweep and gan-report; returns the load average seen while it ran."""
    loads = [os.getloadavg()[0]]
    started = time.time()
    sweep_dir.parent.mkdir(parents=True, exist_ok=True)
    log = sweep_dir.parent / f"{variant}.log"
    with log.open("w") as output:
        process = subprocess.Popen(command(variant, sweep_dir, seeds, overrides), cwd=ROOT, stdout=output,
                                   stderr=output)
        while process.poll() is None:
            time.sleep(5)
            loads.append(os.getloadavg()[0])
    if process.returncode:
        raise SystemExit(f"{variant}: gan-runner exited with {process.returncode}: see {log}")
    subprocess.run([str(BIN / "gan-report"), str(sweep_dir)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"{variant}: {time.time() - started:.0f} s")
    return f"{min(loads):.1f}-{max(loads):.1f}"


def row(variant: str, sweep_dir: Path, load: str, expected: int) -> str:
    """The variant's row; the verdict only once all `expected` seeds have finished."""
    metric, threshold, others, _ = PROOF[variant]
    jobs = sorted(collect(sweep_dir), key=lambda j: int(j.seed))
    finals = [job.final for job in jobs]
    values = [f[metric] for f in finals if isinstance(f.get(metric), (int, float))]
    cell = " / ".join(f"{f[metric]:.3f}" if metric in f else "-" for f in finals)
    mean, error = mean_se(values)
    summary = f"{mean:.3f} ± {error:.3f} (n = {len(values)})" if values else "- (n = 0)"
    if threshold is None:
        met = "reported"
    else:
        reached = sum(v >= threshold for v in values)
        met = f"{verdict(mean, error, threshold) if len(values) == expected else 'runs missing'}; " \
              f"{reached} of {len(values)} finished seeds ≥ {threshold}"
    further = "; ".join(f"{name} " + " / ".join(f"{f[name]:.3g}" if name in f else "-" for f in finals)
                        for name in others)
    walls = [job.result.get("wall_time_s") for job in jobs]
    wall = "-".join(f"{w:.0f}" for w in (min(walls), max(walls))) if all(walls) else "-"
    goal = "reported" if threshold is None else f"mean ≥ {threshold}"
    seeds = ", ".join(job.seed for job in jobs)
    return f"| `{variant}` | {metric} ({goal}) | {seeds} | {cell} | {summary} | {met} | {further} | {wall} s | {load} |"


def pictures(variant: str, sweep_dir: Path, docs: Path) -> list[str]:
    first = min(collect(sweep_dir), key=lambda j: int(j.seed))
    written = []
    for name in PROOF[variant][3]:
        label = Path(name).stem.removeprefix("final").lstrip("_") or "samples"
        target = docs / f"variant_{variant}_{label}.png"
        if (first.dir / "samples" / name).exists():
            shutil.copyfile(first.dir / "samples" / name, target)
            written.append(target.name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", metavar="VARIANT", help=f"of {', '.join(PROOF)} (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "variants_proof")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    parser.add_argument("--seeds", default=SEEDS, help=f"comma-separated training seeds (default {SEEDS})")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to every sweep (a smoke test's tiny runs; the proof itself takes none)")
    parser.add_argument("--table-only", action="store_true",
                        help="rebuild the table from the sweeps in --out as they stand (runs still going show '-')")
    args = parser.parse_args()
    unknown = sorted(set(args.variants) - set(PROOF))
    if unknown:
        parser.error(f"no proof for {unknown[0]}: choose among {', '.join(PROOF)}")
    args.out.mkdir(parents=True, exist_ok=True)
    loads_file = args.out / "loads.txt"  # the load seen while each sweep trained, kept for later table rebuilds
    loads = dict(line.split(" ", 1) for line in loads_file.read_text().splitlines()) if loads_file.exists() else {}
    for variant in [] if args.table_only else args.variants or list(PROOF):
        seen = run(variant, args.out / variant, args.seeds, args.override)
        loads.setdefault(variant, seen)
        loads_file.write_text("".join(f"{k} {v}\n" for k, v in loads.items()))
    done = [v for v in PROOF if (args.out / v).exists()]
    rows = [row(v, args.out / v, loads.get(v, "-"), len(args.seeds.split(","))) for v in done]
    figures = [name for v in done for name in pictures(v, args.out / v, args.docs)]
    table = ["| variant | metric (threshold) | seeds | values | mean ± SE | threshold | further metrics, same "
             "seeds | wall time per run | load average |", "|---|---|---|---|---|---|---|---|---|", *rows]
    missing = [v for v in PROOF if v not in done]
    text = ["# The variants' proof runs", "",
            f"Made by `.venv/bin/python scripts/variants_proof.py --out {args.out}` ({time.strftime('%Y-%m-%d')}), "
            "on mnist5k, one sweep at a time on a 2-core CPU machine; each variant's sweep is", "",
            *(f"    {' '.join(command(v, Path('<out>') / v, args.seeds, args.override)[1:])}" for v in PROOF), "",
            "followed by `gan-report` on its folder. The seeds were never used for tuning (every preset was tuned on "
            "seeds 0-5: docs/variants_tuning.md). CatGAN's clusters are scored on its 500 test digits, never trained "
            "on and never used for choosing (its settings were chosen on the 500 validation digits, "
            "`cluster_accuracy`, reported beside). The other metrics read generated samples with the domain "
            "classifier (5,000 samples, LeNet features of the cached classifier; see the README's Metrics): there "
            "new seeds are the test. SE is the standard error of the mean over seeds, s / √n; a threshold is *met* "
            "when the mean minus one SE clears it, *met only within the noise* when the mean clears it and the mean "
            "minus one SE does not.", "", *table, ""]
    if missing:
        text += [f"Not yet run under this protocol: {', '.join(missing)} (their earlier three-seed rows, on the "
                 "seeds they were tuned on, are in docs/variants_tuning.md).", ""]
    if figures:
        text += ["Pictures (the first seed): " + ", ".join(f"[{f}]({f})" for f in figures), ""]
    (args.docs / "variants_proof.md").write_text("\n".join(text))
    print("\n".join(table))


if __name__ == "__main__":
    main()
