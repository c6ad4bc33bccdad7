"""The variants' proof runs: each variant's preset over three seeds through the command line, then gan-report.

    .venv/bin/python scripts/variants_proof.py [gan cgan projection acgan infogan catgan] [--out outputs/variants_proof]

For each variant: `gan-runner -m experiment=<variant> seed=0,1,2 hydra.sweep.dir=<out>/<variant>` (the plain GAN:
the default run, `gan-runner -m seed=0,1,2`), one sweep after another (one run holds both cores of this machine),
then `gan-report` on the sweep. Writes docs/variants_proof.md (the table against each threshold, with the load
average during the runs) and each variant's pictures from seed 0 as docs/variant_<variant>_*.png. A sweep that
already finished returns its results without training again (gan-runner's sweep resume), so a second call only
rebuilds the table. A variant whose sweep is not in --out keeps its row from the table written last time.
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
from gan_runner.sweep.collect import collect  # noqa: E402

SEEDS = "0,1,2"
BIN = Path(sys.executable).parent
# variant -> (metric, threshold, seeds that must reach it, further metrics reported, pictures of seed 0)
PROOF = {
    "gan": ("fid", None, 0, ["classes_covered", "class_kl"], ["final.png"]),
    "cgan": ("class_accuracy", 0.95, 3, ["intra_fid", "fid"], ["final.png"]),
    "projection": ("class_accuracy", 0.95, 3, ["intra_fid", "fid"], ["final.png"]),
    "acgan": ("class_accuracy", 0.95, 3, ["intra_fid", "fid"], ["final.png"]),
    "infogan": ("code_accuracy", 0.90, 2, ["q_accuracy", "fid"],
                ["final.png", "final_traversal_c1.png", "final_traversal_c2.png"]),
    "catgan": ("cluster_accuracy", 0.85, 3, ["cluster_purity", "fid", "classes_covered"], ["final_clusters.png"]),
}


def command(variant: str, sweep_dir: Path) -> list[str]:
    preset = [] if variant == "gan" else [f"experiment={variant}"]
    return [str(BIN / "gan-runner"), "-m", *preset, f"seed={SEEDS}", f"hydra.sweep.dir={sweep_dir}"]


def run(variant: str, sweep_dir: Path) -> str:
    """Runs (or resumes) the sweep and gan-report; returns the load average seen while it ran."""
    loads = [os.getloadavg()[0]]
    started = time.time()
    log = sweep_dir.parent / f"{variant}.log"
    with log.open("w") as output:
        process = subprocess.Popen(command(variant, sweep_dir), cwd=ROOT, stdout=output, stderr=output)
        while process.poll() is None:
            time.sleep(30)
            loads.append(os.getloadavg()[0])
    if process.returncode:
        raise SystemExit(f"{variant}: gan-runner exited with {process.returncode}: see {log}")
    subprocess.run([str(BIN / "gan-report"), str(sweep_dir)], cwd=ROOT, check=True)
    print(f"{variant}: {time.time() - started:.0f} s")
    return f"{min(loads):.1f}-{max(loads):.1f}"


def row(variant: str, sweep_dir: Path, load: str) -> str:
    metric, threshold, needed, others, _ = PROOF[variant]
    jobs = sorted(collect(sweep_dir), key=lambda j: j.seed)
    finals = [job.final for job in jobs]
    values = [f.get(metric) for f in finals]
    if threshold is None:
        verdict = "reported"
    else:
        reached = sum(v is not None and v >= threshold for v in values)
        verdict = f"{reached}/{len(values)} {'yes' if reached >= needed else 'no'}"
    cell = " / ".join("-" if v is None else f"{v:.3f}" for v in values)
    further = "; ".join(f"{name} " + " / ".join(f"{f[name]:.3g}" if name in f else "-" for f in finals)
                        for name in others)
    walls = [job.result.get("wall_time_s") for job in jobs]
    wall = "-".join(f"{w:.0f}" for w in (min(walls), max(walls))) if all(walls) else "-"
    goal = "reported" if threshold is None else f"≥ {threshold} for {needed} of 3 seeds"
    return f"| `{variant}` | {metric} ({goal}) | {cell} | {verdict} | {further} | {wall} s | {load} |"


def pictures(variant: str, sweep_dir: Path, docs: Path) -> list[str]:
    seed0 = next(job for job in collect(sweep_dir) if job.seed == "0")
    written = []
    for name in PROOF[variant][4]:
        label = Path(name).stem.removeprefix("final").lstrip("_") or "samples"
        target = docs / f"variant_{variant}_{label}.png"
        if (seed0.dir / "samples" / name).exists():
            shutil.copyfile(seed0.dir / "samples" / name, target)
            written.append(target.name)
    return written


def earlier_rows(table_file: Path) -> dict[str, str]:
    """The rows of the table written last time, by variant."""
    if not table_file.exists():
        return {}
    return {line.split("`")[1]: line for line in table_file.read_text().splitlines() if line.startswith("| `")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", default=list(PROOF), choices=list(PROOF))
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "variants_proof")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    loads_file = args.out / "loads.txt"  # the load seen while each sweep trained, kept for later table rebuilds
    loads = dict(line.split(" ", 1) for line in loads_file.read_text().splitlines()) if loads_file.exists() else {}
    for variant in args.variants:
        sweep_dir = args.out / variant
        seen = run(variant, sweep_dir)
        loads.setdefault(variant, seen)
        loads_file.write_text("".join(f"{k} {v}\n" for k, v in loads.items()))
    table_file = args.docs / "variants_proof.md"
    kept = earlier_rows(table_file)
    rows, figures = [], []
    for variant in PROOF:
        if (args.out / variant).exists():
            rows.append(row(variant, args.out / variant, loads.get(variant, "-")))
            figures += pictures(variant, args.out / variant, args.docs)
        elif variant in kept:  # a variant not rerun keeps its row (and its pictures) from the last table
            rows.append(kept[variant])
            figures += sorted(p.name for p in args.docs.glob(f"variant_{variant}_*.png"))
    table = ["| variant | metric (threshold) | seed 0 / 1 / 2 | met | further metrics, seed 0 / 1 / 2 | wall time "
             "per run | load average |", "|---|---|---|---|---|---|---|", *rows]
    text = ["# The variants' proof runs", "",
            f"Made by `.venv/bin/python scripts/variants_proof.py` ({time.strftime('%Y-%m-%d')}), on mnist5k, one "
            "sweep at a time on a 2-core CPU machine; each variant's sweep is", "",
            *(f"    {' '.join(command(v, Path('outputs/variants_proof') / v)[1:])}" for v in PROOF), "",
            "followed by `gan-report` on its folder. Metrics are the final evaluation's (5,000 samples, LeNet "
            "features of the cached domain classifier; see the README's Metrics).", "", *table, "",
            "Pictures (seed 0): " + ", ".join(f"[{f}]({f})" for f in figures), ""]
    table_file.write_text("\n".join(text))
    print("\n".join(table))


if __name__ == "__main__":
    main()
