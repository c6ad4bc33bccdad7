"""Every loss x constraint on PacGAN's ring and grid, 3 seeds each, through gan-runner's own `run`.

    .venv/bin/python scripts/catalogue_toy.py [--steps 700] [--seeds 3] [--jobs 2] [--out outputs/catalogue]
        [--ensemble] [--name catalogue_toy]

With --ensemble, each configuration's seeds train together as one ensemble (gan_runner/ensemble/run.py, what
hydra/launcher=ensemble runs), each run still in its own folder; a configuration the ensemble refuses runs seed by
seed. --name names the report and figures in --docs.

The grid and its shared recipe are conf/sweep/toy.yaml's, so `gan-runner -m sweep=toy` runs the same jobs.

Prints one table (modes covered, % high quality, reverse KL to uniform, exact W1, and the critic's estimate of W1
beside it, mean ± std over seeds) and writes it with small-multiple figures of generated points to docs/.
Runs are ordinary gan-runner runs under --out, so a second call resumes where the first stopped.
"""
import argparse
import itertools
import math
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from omegaconf import OmegaConf

ROOT = Path(__file__).parents[1]
# The grid is the sweep preset's (gan-runner -m sweep=toy runs the same jobs): one definition of the catalogue.
GRID = OmegaConf.load(ROOT / "gan_runner" / "conf" / "sweep" / "toy.yaml").hydra.sweeper.params
SWEPT = {key: str(value).split(",") for key, value in GRID.items() if "," in str(value)}
LOSSES, CONSTRAINTS = SWEPT["loss"], SWEPT["constraint"]
# Rows beyond the preset's: a loss with one of its members, `loss:member` (f-GAN's divergences beside the
# likelihood-ratio family's members, each row the loss with that key set).
MEMBER_KEYS = {"fgan": "divergence", "likelihood_ratio": "member"}
DATA = [e.removeprefix("toy_") for e in SWEPT["experiment"]]
RECIPE = [f"{key}={value}" for key, value in GRID.items() if key not in SWEPT and key != "trainer.max_steps"]
COLUMNS = ["modes", "hq_percent", "reverse_kl", "w1", "critic_w1"]


def member_rows() -> list[str]:
    from gan_runner import fgan, likelihood_ratio

    return [*(f"fgan:{d}" for d in fgan.DIVERGENCES), *(f"likelihood_ratio:{m}" for m in likelihood_ratio.MEMBERS)]


def loss_overrides(row: str) -> list[str]:
    """`ns` -> loss=ns; `fgan:js` -> loss=fgan loss.divergence=js."""
    loss, _, member = row.partition(":")
    return [f"loss={loss}", *([f"loss.{MEMBER_KEYS[loss]}={member}"] if member else [])]


def overrides(data: str, loss: str, constraint: str, seed: int, steps: int) -> list[str]:
    return [f"experiment=toy_{data}", *loss_overrides(loss), f"constraint={constraint}", f"seed={seed}", *RECIPE,
            f"trainer.max_steps={steps}", "metrics.every_n_steps=0", "metrics.pictures=false",
            "trainer.enable_progress_bar=false", f"checkpoint_every_n_steps={steps}"]


def _config(out: str, ovr: list[str]):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(ROOT / "gan_runner" / "conf"), version_base="1.3"):
        return compose("config", overrides=[*ovr, f"output_dir={out}"])


def job(args) -> tuple:
    """One run in a worker process: compose, run, and keep 500 generated points for the figure."""
    import torch

    from gan_runner.run import run

    key, out, ovr = args
    torch.set_num_threads(1)  # one core per job: the pool runs one job per core
    cfg = _config(out, ovr)
    try:
        run(cfg)
    except Exception as exc:  # a crashed combination is a result too
        return key, {"status": f"failed: {type(exc).__name__}"}, None
    return finished(key, out, cfg)


def ensemble_job(tasks: list) -> list[tuple]:
    """One configuration's seeds in a worker process: trained together, then each run read as `job` reads it (a
    configuration the ensemble refuses: each seed run alone)."""
    import torch

    from gan_runner.ensemble.run import train_together

    torch.set_num_threads(1)
    try:
        reason = train_together([_config(out, ovr) for _, out, ovr in tasks])
        if reason:
            print(f"{tasks[0][0][:3]}: seeds run one by one: {reason}")
    except Exception as exc:  # a crashed combination is a result too; its seeds may still complete alone
        print(f"{tasks[0][0][:3]}: the ensemble failed ({type(exc).__name__}: {exc}); its seeds run alone")
    return [job(task) for task in tasks]  # a completed run returns as recorded


def finished(key: tuple, out: str, cfg) -> tuple:
    from gan_runner import results
    from gan_runner.build import build_module
    from gan_runner.checkpoint import last_checkpoint, load_weights
    from gan_runner.data import toy
    from gan_runner.evaluation import generate, untouched

    result = results.read(Path(out) / "metrics.json")
    points = None
    if result["status"] == "completed":
        module = build_module(cfg, getattr(toy, cfg.data.name)(n=1000))
        load_weights(module, last_checkpoint(Path(out)))
        with untouched(module):
            points = generate(module, 500)[0].numpy()  # a tensor would travel as a file descriptor of this worker
    return key, {"status": result["status"], **result["metrics"]["final"]}, points


def summarize(values: list[float]) -> str:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return "—"
    if len(finite) == 1:
        return f"{finite[0]:.2f}"
    return f"{statistics.mean(finite):.2f}±{statistics.stdev(finite):.2f}"


def table(rows: dict, data: str, seeds: int) -> list[str]:
    lines = [f"| loss | constraint | {' | '.join(COLUMNS)} | runs ok |", "|" + "---|" * (len(COLUMNS) + 3)]
    for loss, constraint in itertools.product(LOSSES, CONSTRAINTS):
        runs = [rows.get((data, loss, constraint, s), {}) for s in range(seeds)]
        ok = sum(r.get("status") == "completed" for r in runs)
        cells = [summarize([r.get(c, math.nan) for r in runs]) for c in COLUMNS]
        lines.append(f"| {loss} | {constraint} | {' | '.join(cells)} | {ok}/{seeds} |")
    return lines


def figure(points: dict, data: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gan_runner.data import toy

    real = getattr(toy, data)(n=2000).x
    fig, axes = plt.subplots(len(LOSSES), len(CONSTRAINTS), figsize=(1.3 * len(CONSTRAINTS), 1.3 * len(LOSSES)),
                             dpi=90, sharex=True, sharey=True, squeeze=False)
    lim = 1.6 if data == "ring" else 6.0
    for (i, loss), (j, constraint) in itertools.product(enumerate(LOSSES), enumerate(CONSTRAINTS)):
        ax = axes[i, j]
        ax.scatter(*real.T, s=0.5, c="lightgray")
        fake = points.get((data, loss, constraint, 0))
        if fake is not None:
            ax.scatter(*fake.clip(-lim, lim).T, s=0.5, c="tab:orange")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xticks=[], yticks=[])
        if i == 0:
            ax.set_title(constraint, fontsize=8)
        if j == 0:
            ax.set_ylabel(loss, fontsize=8)
    fig.suptitle(f"{data}: generated points (orange) over real (grey), seed 0; rows = loss, columns = constraint",
                 fontsize=9, wrap=True)  # wrapped to the figure's width when few constraints are drawn
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=int(GRID["trainer.max_steps"]))
    parser.add_argument("--seeds", type=int, default=len(SWEPT["seed"]))
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--out", default=str(ROOT / "outputs" / "catalogue"))
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--losses", nargs="+", default=LOSSES, choices=[*LOSSES, *member_rows()],
                        help="loss rows; loss:member for one of f-GAN's divergences or likelihood_ratio's members")
    parser.add_argument("--constraints", nargs="+", default=CONSTRAINTS, choices=CONSTRAINTS)
    parser.add_argument("--ensemble", action="store_true", help="each configuration's seeds as one ensemble")
    parser.add_argument("--name", default="catalogue_toy", help="the report's and figures' name in --docs")
    args = parser.parse_args()
    LOSSES[:], CONSTRAINTS[:] = args.losses, args.constraints
    os.environ.setdefault("WANDB_MODE", "offline")
    tasks = [((d, loss, c, s), f"{args.out}/{d}/{loss.replace(':', '_')}-{c}/seed{s}",
              overrides(d, loss, c, s, args.steps))
             for d, loss, c, s in itertools.product(DATA, LOSSES, CONSTRAINTS, range(args.seeds))]
    start = time.time()
    rows, points = {}, {}
    # Workers live for the whole catalogue: recycling them (Pool's maxtasksperchild, or max_tasks_per_child) made
    # the pool's handler thread spin on half a core, or deadlock, with Python 3.11 here.
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        if args.ensemble:
            groups = [tasks[i:i + args.seeds] for i in range(0, len(tasks), args.seeds)]  # seeds are innermost
            futures = [pool.submit(ensemble_job, group) for group in groups]
        else:
            futures = [pool.submit(job, task) for task in tasks]
        n = 0
        for done in as_completed(futures):
            for key, row, pts in done.result() if args.ensemble else [done.result()]:
                rows[key], points[key] = row, pts
                n += 1
                if n % 24 == 0:
                    print(f"{n}/{len(tasks)} runs, {time.time() - start:.0f} s", flush=True)
    seconds = time.time() - start
    docs = Path(args.docs)
    docs.mkdir(exist_ok=True)
    how = "each configuration's seeds as one ensemble" if args.ensemble else "each run alone"
    report = [f"# Toy catalogue: every loss x constraint on ring and grid ({args.seeds} seeds, {args.steps} "
              f"iterations, MLP width 64, batch 128, Adam 1e-3; PacGAN's metrics on 2,500 samples)", "",
              f"{len(tasks)} runs, {how}, in {seconds / 60:.1f} min with {args.jobs} worker processes of one thread "
              f"(`.venv/bin/python scripts/catalogue_toy.py --seeds {args.seeds} --jobs {args.jobs}"
              f"{' --ensemble' if args.ensemble else ''} --name {args.name}`).", ""]
    for data in DATA:
        figure(points, data, docs / f"{args.name}_{data}.png")
        report += [f"## {data}", "", *table(rows, data, args.seeds), "", f"![{data}]({args.name}_{data}.png)", ""]
    (docs / f"{args.name}.md").write_text("\n".join(report))
    print("\n".join(report))
    print(f"{len(tasks)} runs in {seconds:.0f} s with {args.jobs} jobs")


if __name__ == "__main__":
    main()
