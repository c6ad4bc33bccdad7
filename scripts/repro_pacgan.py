"""PacGAN's Tables 1 and 2 (Lin et al. 2018): GAN vs PacGAN2, 3, 4 on the ring and the grid (experiment=pacgan_toy),
DCGAN vs PacDCGAN2, 3, 4 on Stacked MNIST (experiment=pacgan_stacked_mnist), 10 trials each, with the authors'
protocols, each configuration's trials trained together (hydra/launcher=ensemble).

    .venv/bin/python scripts/repro_pacgan.py [--steps 4000] [--every 500] [--trials 10] [--packs 1 2 3 4]
        [--data ring grid] [--jobs 2] [--out outputs/repro_pacgan] [--docs docs] [--name pacgan_toy]
        [--override KEY=VALUE ...] [--table-only]

Every configuration is one `gan-runner -m hydra/launcher=ensemble ...` multirun into <out>/<data>_pack<m>, one folder
per trial (seed<k>), so the same command resumes a stopped study and a larger --steps extends a finished one from
its checkpoints. --override scales a protocol down (e.g. model.width=32 for Stacked MNIST on a CPU) and is named in
the report. Prints and writes docs/<name>.md: each metric as mean ± standard error over trials beside the paper's,
and docs/<name>_curves.png, the metrics at every evaluation (whether they have flattened at the budget).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
from gan_runner.studies import mean_se, write_page  # noqa: E402

ROOT = Path(__file__).parents[1]
TOY = {"modes": "modes", "hq_percent": "% high quality", "reverse_kl": "reverse KL"}
# data -> (its preset, its metrics and their names, the name of packing m's D)
DATA = {"ring": ("pacgan_toy", TOY, "PacGAN{}"), "grid": ("pacgan_toy", TOY, "PacGAN{}"),
        "stacked_mnist": ("pacgan_stacked_mnist", {"stacked_modes": "modes", "stacked_kl": "KL"}, "PacDCGAN{}")}
# PacGAN Tables 1 and 2 (mean ± standard error over 10 trials; none given for PacGAN3 and 4 on the toys)
PAPER = {
    ("ring", 1): ("6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09"), ("ring", 2): ("7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03"),
    ("ring", 3): ("7.8", "97.7", "0.10"), ("ring", 4): ("7.8", "95.9", "0.07"),
    ("grid", 1): ("17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07"), ("grid", 2): ("23.8 ± 0.7", "91.3 ± 0.8", "0.13 ± 0.04"),
    ("grid", 3): ("24.6", "94.2", "0.06"), ("grid", 4): ("24.8", "93.6", "0.04"),
    ("stacked_mnist", 1): ("78.9 ± 6.46", "4.50 ± 0.13"), ("stacked_mnist", 2): ("1000 ± 0", "0.06 ± 0.003"),
    ("stacked_mnist", 3): ("1000", "0.06"), ("stacked_mnist", 4): ("1000", "0.07"),
}


def command(data: str, pack: int, args) -> list[str]:
    seeds = ",".join(str(s) for s in range(args.trials))
    return [str(Path(sys.executable).parent / "gan-runner"), "-m", "hydra/launcher=ensemble",
            f"experiment={DATA[data][0]}", f"data={data}", f"model.pack={pack}", f"seed={seeds}",
            f"trainer.max_steps={args.steps}", f"metrics.every_n_steps={args.every}",
            f"checkpoint_every_n_steps={args.every}", "metrics.pictures=false", "trainer.enable_progress_bar=false",
            *args.override, f"hydra.sweep.dir={folder(args.out, data, pack)}", "hydra.sweep.subdir=seed${seed}"]


def folder(out: str, data: str, pack: int) -> Path:
    return Path(out) / f"{data}_pack{pack}"


def train(data: str, pack: int, args) -> float:
    """One configuration's trials as one ensemble, in a process of one thread; its seconds."""
    start = time.time()
    log = folder(args.out, data, pack).with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as stream:
        done = subprocess.run(command(data, pack, args), stdout=stream, stderr=subprocess.STDOUT, cwd=ROOT,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"})
    if done.returncode:
        print(f"{data} pack {pack}: gan-runner exited {done.returncode}, see {log}", flush=True)
    return time.time() - start


def trials(out: str, data: str, pack: int) -> list[dict]:
    runs = []
    for path in sorted(folder(out, data, pack).glob("seed*/metrics.json")):
        record = json.loads(path.read_text())
        runs.append({"status": record["status"], "final": record.get("metrics", {}).get("final", {}),
                     "history": record.get("history", []), "step": record.get("step", 0),
                     "train_time_s": record.get("train_time_s") or 0.0})
    return runs


def finite(values: list) -> list[float]:
    """The values that are numbers (reverse KL has none where no sample is high quality)."""
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def cell(values: list[float], digits: int) -> str:
    mean, se = mean_se(finite(values))
    return "—" if math.isnan(mean) else f"{mean:.{digits}f} ± {se:.{digits}f}"


def name_of(data: str, pack: int) -> str:
    return ("DCGAN" if data == "stacked_mnist" else "GAN") if pack == 1 else DATA[data][2].format(pack)


def table(args, data: str) -> list[str]:
    columns = DATA[data][1]
    lines = ["| D | " + " | ".join(f"{name} (ours) | {name} (paper)" for name in columns.values())
             + " | trials completed | iterations |", "|" + "---|" * (2 * len(columns) + 3)]
    for pack in args.packs:
        done = [r for r in trials(args.out, data, pack) if r["status"] == "completed"]
        cells = []
        for key, paper in zip(columns, PAPER[(data, pack)]):
            cells += [cell([r["final"].get(key, math.nan) for r in done], 2 if key.endswith("kl") else 1), paper]
        steps = sorted({r["step"] for r in done}) or [0]
        lines.append(f"| {name_of(data, pack)} | {' | '.join(cells)} | {len(done)}/{args.trials} | "
                     f"{'/'.join(str(s) for s in steps)} |")
    return lines


def curves(args, path: Path) -> None:
    """Each metric against iterations, mean ± standard error over trials, one line per pack size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(len(DATA[d][1]) for d in args.data)
    fig, axes = plt.subplots(len(args.data), width, figsize=(3.4 * width, 2.6 * len(args.data)), dpi=90,
                             squeeze=False)
    for i, data in enumerate(args.data):
        columns = DATA[data][1]
        for pack in args.packs:
            runs = trials(args.out, data, pack)  # a running trial's evaluations so far too
            points = [h for r in runs for h in r["history"]] + [{"step": r["step"], **r["final"]} for r in runs
                                                                 if r["status"] == "completed"]
            if not points:
                continue
            steps = sorted({p["step"] for p in points})
            for j, key in enumerate(columns):
                stats = [mean_se(finite([p.get(key) for p in points if p["step"] == s])) for s in steps]
                mean = [m for m, _ in stats]
                se = [0.0 if math.isnan(e) else e for _, e in stats]
                line, = axes[i, j].plot(steps, mean, label=name_of(data, pack))
                axes[i, j].fill_between(steps, [m - e for m, e in zip(mean, se)], [m + e for m, e in zip(mean, se)],
                                        color=line.get_color(), alpha=0.2)
        for j, name in enumerate(columns.values()):
            axes[i, j].set(title=f"{data}: {name}", xlabel="iteration")
        for j in range(len(columns), width):
            axes[i, j].set_visible(False)
        axes[i, 0].legend(fontsize=7)
    fig.suptitle(f"PacGAN's protocols: mean ± standard error over {args.trials} trials at each evaluation", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--every", type=int, default=500, help="iterations between evaluations (the curves)")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--packs", type=int, nargs="+", default=[1, 2, 3, 4], choices=[1, 2, 3, 4])
    parser.add_argument("--data", nargs="+", default=["ring", "grid"], choices=list(DATA))
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="configurations trained at once")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "repro_pacgan"))
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--name", default="pacgan_toy", help="the report's and figure's name in --docs")
    parser.add_argument("--override", action="append", default=[], help="a gan-runner override for every run")
    parser.add_argument("--table-only", action="store_true", help="rebuild the report from the runs under --out")
    args = parser.parse_args()
    start = time.time()
    if not args.table_only:
        # The most expensive configurations (largest packs) first, so the pool's last job is a short one.
        configs = sorted(((d, m) for d in args.data for m in args.packs), key=lambda c: -c[1])
        with ThreadPoolExecutor(args.jobs) as pool:
            for (data, pack), seconds in zip(configs, pool.map(lambda c: train(*c, args), configs)):
                print(f"{data} pack {pack}: {seconds:.0f} s", flush=True)
    wall = time.time() - start
    docs = Path(args.docs)
    docs.mkdir(exist_ok=True)
    # each member records its ensemble's time: one trial's per configuration
    train_minutes = sum(r["train_time_s"] for d in args.data for m in args.packs for r in trials(args.out, d, m)[:1])
    packs = " ".join(map(str, args.packs))
    flags = (f"--steps {args.steps} --every {args.every} --trials {args.trials} --packs {packs}"
             f" --data {' '.join(args.data)} --jobs {args.jobs}" + "".join(f" --override {o}" for o in args.override)
             + (f" --name {args.name}" if args.name != "pacgan_toy" else ""))
    report = [f"# PacGAN's tables with the authors' protocols, {args.steps} iterations, {args.trials} trials", "",
              f"`.venv/bin/python scripts/repro_pacgan.py {flags}`: each configuration's trials as one ensemble "
              f"(one process of one thread), {args.jobs} configurations at a time; training took "
              f"{train_minutes / 60:.0f} min of ensemble time in all"
              + ("" if args.table_only else f", {wall / 60:.0f} min of wall time") + ".",
              "Ours: mean ± standard error over trials; the paper's: mean ± standard error over 10 trials, after "
              "400,000 iterations on the toys and 100,000 on Stacked MNIST.", ""]
    for data in args.data:
        report += [f"## {data}", "", *table(args, data), ""]
    report += [f"![curves]({args.name}_curves.png)", ""]
    curves(args, docs / f"{args.name}_curves.png")
    write_page(docs / f"{args.name}.md", report)  # the hand-written reading of the table stays
    print("\n".join(report))

if __name__ == "__main__":
    main()
