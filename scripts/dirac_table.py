"""Which training methods make the Dirac-GAN converge: every loss x constraint x update rule x learning rate.

    .venv/bin/python scripts/dirac_table.py [--jobs 2] [--out outputs/dirac_table] [--docs docs]
                                            [--losses ...] [--methods ...] [--time 50]

Every cell is an ordinary gan-runner run (`experiment=dirac`: G(z) = θ, D(x) = ψ·x on a point mass at 0, plain
gradient descent from (θ, ψ) = (1, 1)) through gan-runner's own `run`; each row's configuration is composed once
with Hydra's compose API, and each step's keys are set on a copy as `key=value` overrides would set them. Each
constraint and consensus use the settings of the paper's Dirac-GAN notebook (LMescheder/GAN_stability,
notebooks/DiracGAN.ipynb), translated to our keys; each learning rate h runs for the same training time, T / h
iterations, so that the small steps are not judged on a shorter horizon. Prints the table and writes
docs/dirac_table.md and docs/dirac_trajectories.png. Runs are ordinary run folders under --out: a second call
returns their results without training again.
"""
import argparse
import itertools
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).parents[1]
LOSSES = sorted(p.stem for p in (ROOT / "gan_runner" / "conf" / "loss").glob("*.yaml"))
UPDATES = ("simultaneous", "alternating")
LRS = (0.2, 0.5, 1.0)  # 0.2: the step of the authors' notebook
TIME = 50.0  # training time h x iterations of every run
# method -> (overrides, what the paper's notebook used). The notebook's penalties act on the field directly:
# WGAN_GP(reg=0.7, target=1) subtracts 0.7·(|ψ| - 1)·sign ψ, i.e. λ(|ψ| - 1)² with λ = 0.35; GradPenalty(0.3)
# subtracts 0.3·ψ, i.e. (γ/2)ψ² with γ = 0.3; WGAN(clip=1) clips ψ to [-1, 1]; GAN_InstNoise(0.7) has σ = 0.7.
METHODS = {
    "none": ([], "-"),
    "clip": (["constraint=clip", "constraint.clip.c=1.0"], "c = 1"),
    "gp": (["constraint=gp"], "λ = 0.35, data=dirac's own gp_weight (the notebook's 0.7 on the derivative)"),
    "r1": (["constraint=r1", "constraint.r1.gamma=0.3"], "γ = 0.3"),
    "r2": (["constraint=r2", "constraint.r2.gamma=0.3"], "γ = 0.3"),
    # Instance noise is sampled: the iterates settle in a ball whose radius falls as 1/√batch; 8,192 draws per
    # step put it near the tolerance (the notebook averages its field over 1,000).
    "noise": (["constraint=noise", "constraint.noise.sigma=0.7", "constraint.noise.anneal_steps=1000000000",
               "data.batch_size=8192", "data.source.n=8192"], "σ = 0.7, not annealed, batch 8,192"),
    "consensus": (["optimizer.consensus=1.0"], "γ = 1 (simultaneous updates only)"),
}
REFUSED = {"sn": "spectral normalization of the 1x1 weight makes D(x) = sign(ψ)·x: refused (gn and gran too)"}
# The paper's verdicts (Mescheder, Geiger & Nowozin 2018, arXiv:1801.04406): the unregularized Dirac-GAN in §2.2
# (simultaneous gradient descent spirals out, alternating cycles), the regularizers in §3, and R1/R2 as the
# simplified zero-centred penalties of §4.1.
PAPER = {
    "none": "no: simultaneous spirals out, alternating cycles (§2.2)",
    "clip": "no (WGAN, §3)",
    "gp": "no (WGAN-GP, §3)",
    "r1": "yes, for small h (zero-centred penalty, §3; R1 in §4.1)",
    "r2": "yes, for small h (§4.1)",
    "noise": "yes, for small h (instance noise, §3)",
    "consensus": "yes, for small h (§3)",
}
# The paper's figure rows: the loss each method is shown with (the WGANs use the Wasserstein loss).
FIGURE = [("GAN", "minimax", "none"), ("WGAN (clip)", "wasserstein", "clip"), ("WGAN-GP", "wasserstein", "gp"),
          ("instance noise", "minimax", "noise"), ("R1", "minimax", "r1"), ("consensus", "minimax", "consensus")]
FIGURE_LR = LRS[0]


# What the table shows beside the paper, and where it differs (true of the table this script writes: CPU runs are
# deterministic).
NOTES = """## Beside the paper

- Unregularized, clipped (WGAN) and WGAN-GP training converge for no loss, no update rule and no step: as the
  paper says (§2.2, §3). The field's eigenvalues at (0, 0) are ±f'(0)i, on the imaginary axis, for every loss but
  LS; simultaneous steps have ρ = √(1 + h²f'(0)²) > 1 (the iterates spiral out: the paper's Lemma for simultaneous
  gradient descent) and alternating ones ρ = 1 (they cycle). Clipping at c = 1 leaves (0, 0) inside its box, so it
  changes nothing there; it only bounds ψ, which turns the outward spiral into a cycle. WGAN-GP has no Jacobian at
  (0, 0): its penalty λ(|ψ| - 1)² has a kink at ψ = 0 (its one-sided slopes are ∓2λ), so (0, 0) is not even a
  stationary point of the field, and the iterates settle on a limit cycle.
- R1 and R2 (γ = 0.3) converge, for every loss but LS, with alternating steps at every h tried, and with
  simultaneous steps while h is small: their eigenvalues -γ/2 ± √(γ²/4 - f'(0)²) have negative real parts, and
  ρ < 1 for h = 0.2 with every loss but LS. Losses with f'(0) = 1 (wasserstein, hinge, ragan) lose stability
  first: at h = 0.5 ρ > 1 for them (|1 + hλ|² = 1 - γh + h² f'(0)² for γ² < 4f'(0)²). R1 and R2 rows are
  identical: D(x) = ψ·x has gradient ψ at every x, real or fake.
- Consensus optimization (γ = 1) moves the eigenvalues to -γf'(0)² ± f'(0)i and converges for every loss but LS at
  h = 0.2 and 0.5 ("for small enough learning rates"); at h = 1, ρ = 1 exactly for f'(0) = 1
  (|1 + h(-1 ± i)| = 1): the Wasserstein iterates go round a 4-cycle and ragan's diverge; ml, whose linearization
  is minimax's (ρ = 0.90), diverges on the way (its G loss -½e^(ψθ) grows exponentially away from (0, 0)).
- Instance noise (σ = 0.7) gives eigenvalues f''(0)σ² ± √(f''(0)²σ⁴ - f'(0)²) (checked against the paper's
  closed form in tests/test_dirac.py): it helps the six losses whose D-loss is curved at 0 (minimax, ns, ml,
  rsgan, ragan, fgan), and does nothing for wasserstein and hinge, which are linear in D near (0, 0) (f''(0) = 0:
  the noise averages out), a case the paper's formula covers but its figure does not show. The noise is sampled,
  8,192 draws per step, so the iterates do not reach (0, 0): they settle in a ball of radius about 0.01 that grows
  with √h, hence the noise rows' → cells (ρ < 1, distance above 0.01: about half of them within 0.03, the others
  still on their way after 100 or 50 iterations).

## Where ours differ from the paper, and why

- Our D scores real data high; the paper's scores fakes high (its σ(D) is the probability of "fake"). Our ψ is the
  paper's -ψ: the same game reflected, with the same eigenvalues (the field turns clockwise in our pictures,
  anticlockwise in the paper's).
- The least-squares loss (not in the paper) never converges, with any method: D(0) = ψ·0 = 0 whatever ψ is, so D
  can never score the real point at its target 1; every point (θ, 0) is stationary, the Jacobian has a zero
  eigenvalue, and G stops wherever ψ reaches 0. The one LS ✓ is a coincidence of the start (1, 1), not
  convergence: with consensus at h = 0.5 the first step lands exactly on (0, 0) (both coordinates move by exactly
  -1). So is hinge with consensus at h = 1: its first step reaches (1, -1), on the hinge's kink ψθ = -1, and its
  second lands on (0, 0). ρ = 1 marks both.
- Alternating steps: ours take D's step first, the notebook G's; the two update maps (I - H_G W)(I - H_D W) and
  (I - H_D W)(I - H_G W) have the same eigenvalues, so the verdicts agree while the paths differ slightly.
- Settings are the notebook's, translated to our keys (clip c = 1 instead of the runner's 0.01, GP weight 0.35,
  σ = 0.7 constant instead of annealed); the runner's defaults (R1 γ = 10, noise annealed to 0) are tuned for
  image GANs and make other cells: with noise annealed to 0 a run ends unregularized.
"""


def overrides(loss: str, method: str, update: str) -> list[str]:
    """The command line of a table row; each step h adds `per_step(h)`."""
    return ["experiment=dirac", f"loss={loss}", *METHODS[method][0], f"optimizer.update={update}",
            "trainer.log_every_n_steps=1000", "metrics.pictures=false", "trainer.enable_progress_bar=false"]


def iterations(lr: float, time: float) -> int:
    """Training time / h: the same horizon for every step h."""
    return max(1, round(time / lr))


def per_step(lr: float, steps: int) -> dict:
    """The keys that follow the step h, as `key=value` overrides would set them: h for both players, `steps`
    iterations, one checkpoint at the end."""
    return {"optimizer.lr_g": lr, "optimizer.lr_d": lr, "trainer.max_steps": steps, "checkpoint_every_n_steps": steps}


def job(args) -> list[tuple]:
    """The runs of one row in a worker process (composing a configuration costs more than a short Dirac run, so
    each row is composed once, and each step's keys are set on a copy): their final metrics and trajectories, and
    for a figure panel the field on a grid."""
    import copy

    import numpy as np
    import torch
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from gan_runner import results
    from gan_runner.build import build_module
    from gan_runner.data.dirac import dirac
    from gan_runner.evaluation import DiracEvaluation, untouched
    from gan_runner.run import run

    row_key, runs, with_field = args
    torch.set_num_threads(1)  # one core per job: the pool runs one job per core
    with initialize_config_dir(str(ROOT / "gan_runner" / "conf"), version_base="1.3"):
        base = compose("config", overrides=[*overrides(*row_key), f"output_dir={runs[0][1]}"])
    done = []
    for lr, steps, out in runs:
        key, cfg = (*row_key, lr), copy.deepcopy(base)
        for name, value in {**per_step(lr, steps), "output_dir": out}.items():
            OmegaConf.update(cfg, name, value)
        try:
            run(cfg)
        except Exception as exc:  # a crashed combination is a result too
            done.append((key, {"status": f"failed: {type(exc).__name__}: {exc}"}, None, None))
            continue
        result = results.read(Path(out) / "metrics.json")
        row = {"status": result["status"], **result["metrics"]["final"]}
        csv = Path(out) / "samples" / "final.csv"
        points = np.loadtxt(csv, delimiter=",", skiprows=1)[:, 1:] if csv.exists() else None
        field = None
        if with_field and lr == FIGURE_LR:
            module = build_module(cfg, dirac(n=256))
            flow = DiracEvaluation.flow(module, torch.zeros(256, 1))
            with untouched(module):
                axis = np.linspace(-4, 4, 21)
                field = np.array([[flow(t, p) for t in axis] for p in axis])
        done.append((key, row, points, field))
    return done


def cell(row: dict) -> str:
    if row is None:
        return "refused"
    if row.get("status") != "completed":
        return f"✗ {row.get('status', '?').split(':')[0]}"
    distance, radius = number(row["distance"]), number(row["update_radius"])
    return f"{mark(row)} {distance:.1e}" + ("" if math.isnan(radius) else f", ρ {radius:.3f}")


def mark(row: dict) -> str:
    """✓ converged; → locally convergent at this h (ρ < 1) but not yet within the tolerance; ○ bounded; ↗ moved
    away; ✗ diverged to NaN."""
    if row.get("status") != "completed":
        return "✗"
    if row["converged"]:
        return "✓"
    if number(row["update_radius"]) < 1 - 1e-6:
        return "→"
    return "↗" if number(row["distance"]) > 1.25 * math.sqrt(2) else "○"


def number(value) -> float:
    """metrics.json writes NaN as the string "nan"."""
    return float(value)


def eigen(rows: list) -> str:
    """The field's eigenvalues at (0, 0), from any completed run of the row (they depend on neither h nor the
    update rule)."""
    row = next((r for r in rows if r and r.get("status") == "completed"), None)
    if row is None:
        return "—"
    re, im = number(row["field_eig1_re"]), abs(number(row["field_eig1_im"]))
    if math.isnan(re):
        return "none: kink at ψ = 0"
    if im < 1e-9:
        return f"{re:.3g}, {number(row['field_eig2_re']):.3g}"
    return f"{re:.3g} ± {im:.3g}i"


def tables(rows: dict) -> tuple[list[str], list[str]]:
    columns = list(itertools.product(UPDATES, LRS))
    head = " | ".join(f"{u[:3]}. h={lr:g}" for u, lr in columns)
    summary = [f"| method | settings | the paper | {head} |", "|" + "---|" * (3 + len(columns))]
    for method, (_, settings) in METHODS.items():
        counts = []
        for update, lr in columns:
            runs = [rows.get((loss, method, update, lr)) for loss in LOSSES]
            if all(r is None for r in runs):
                counts.append("refused")
                continue
            converged = sum(mark(r) == "✓" for r in runs if r)
            local = sum(r.get("status") == "completed" and number(r["update_radius"]) < 1 - 1e-6 for r in runs if r)
            counts.append(f"{converged} ({local})")
        summary.append(f"| {method} | {settings} | {PAPER[method]} | " + " | ".join(counts) + " |")
    for method, reason in REFUSED.items():
        summary.append(f"| {method} | | {reason} |" + " |" * len(columns))
    full = [f"| loss | method | field eigenvalues at (0, 0) | {head} |", "|" + "---|" * (3 + len(columns))]
    for loss, method in itertools.product(LOSSES, METHODS):
        runs = [rows.get((loss, method, update, lr)) for update, lr in columns]
        full.append(f"| {loss} | {method} | {eigen(runs)} | " + " | ".join(cell(r) for r in runs) + " |")
    return summary, full


def figure(points: dict, fields: dict, path: Path, time: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from gan_runner.plots import trajectory_limit

    fig, axes = plt.subplots(len(UPDATES), len(FIGURE), figsize=(2.3 * len(FIGURE), 2.5 * len(UPDATES)), dpi=100,
                             squeeze=False)
    axis = np.linspace(-4, 4, 21)
    tt, pp = np.meshgrid(axis, axis, indexing="xy")
    for (i, update), (j, (title, loss, method)) in itertools.product(enumerate(UPDATES), enumerate(FIGURE)):
        ax = axes[i, j]
        key = (loss, method, update, FIGURE_LR)
        path_ = points.get(key)
        if path_ is None:
            refused = (method, update) == ("consensus", "alternating")
            ax.text(0.5, 0.5, "refused:\nconsensus needs\nsimultaneous updates" if refused else "not run", ha="center",
                    va="center", transform=ax.transAxes, fontsize=8)
            ax.set(xticks=[], yticks=[])
        else:
            field = fields.get((loss, method, "simultaneous", FIGURE_LR))
            if field is not None:
                ax.streamplot(tt, pp, field[..., 0], field[..., 1], color="0.78", density=0.9, linewidth=0.5,
                              arrowsize=0.6)
            limit = trajectory_limit(path_)
            ax.plot(path_[:, 0], path_[:, 1], color="tab:blue", lw=0.9)
            ax.plot(*path_[0], "o", color="tab:green", ms=4)
            ax.plot(*path_[-1], "*", color="tab:red", ms=8)
            ax.plot(0, 0, "+", color="black", ms=8, mew=1.3)
            ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
            ax.tick_params(labelsize=6)
            end = float(np.hypot(*path_[-1]))
            ax.set_xlabel(f"final distance {end:.1e}", fontsize=7)
        if i == 0:
            ax.set_title(f"{title}\n(loss={loss})", fontsize=8)
        if j == 0:
            ax.set_ylabel(f"{update}\nψ", fontsize=8)
    fig.suptitle(f"Dirac-GAN, gradient descent h = {FIGURE_LR:g} for {iterations(FIGURE_LR, time)} iterations from "
                 "(θ, ψ) = (1, 1) (green) to the end (red star); θ across, ψ up; grey: the training field",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--out", default=str(ROOT / "outputs" / "dirac_table"))
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--losses", nargs="+", default=LOSSES, choices=LOSSES)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--time", type=float, default=TIME, help="training time h x iterations of every run")
    args = parser.parse_args()
    LOSSES[:] = args.losses
    for method in set(METHODS) - set(args.methods):  # the tables list the methods run
        del METHODS[method]
    os.environ.setdefault("WANDB_MODE", "offline")
    figure_rows = {(loss, method, "simultaneous") for _, loss, method in FIGURE}
    tasks = []
    for loss, method, update in itertools.product(LOSSES, METHODS, UPDATES):
        if method == "consensus" and update == "alternating":
            continue  # refused in one line: consensus regularizes the simultaneous field
        runs = [(lr, iterations(lr, args.time), f"{args.out}/{loss}/{method}-{update}-h{lr:g}") for lr in LRS]
        tasks.append(((loss, method, update), runs, (loss, method, update) in figure_rows))
    # the rows with the costliest runs (instance noise's large batches) first, so that no worker is left with one
    # at the end
    tasks.sort(key=lambda t: t[0][1] != "noise")
    start = time.time()
    rows, points, fields = {}, {}, {}
    count = len(tasks) * len(LRS)
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        for n, done in enumerate(as_completed([pool.submit(job, t) for t in tasks]), 1):
            for key, row, pts, field in done.result():
                rows[key], points[key] = row, pts
                if field is not None:
                    fields[key] = field
            if n % 20 == 0:
                print(f"{n * len(LRS)}/{count} runs, {time.time() - start:.0f} s", flush=True)
    elapsed = time.time() - start
    docs = Path(args.docs)
    docs.mkdir(exist_ok=True)
    figure(points, fields, docs / "dirac_trajectories.png", args.time)
    summary, full = tables(rows)
    report = [
        "# The Dirac-GAN: which training methods converge",
        "",
        f"`scripts/dirac_table.py`: {count} gan-runner runs of `experiment=dirac` (G(z) = θ, D(x) = ψ·x, real "
        "data a point mass at 0; plain gradient descent from (θ, ψ) = (1, 1)), each learning rate h for "
        f"{args.time:g}/h iterations (h = {', '.join(f'{lr:g}' for lr in LRS)}: "
        f"{', '.join(str(iterations(lr, args.time)) for lr in LRS)} iterations). A run has converged when its final "
        "distance to the equilibrium (0, 0) is below 0.01.",
        "",
        f"## Summary: of the {len(LOSSES)} losses, how many converged (and, in brackets, how many are locally "
        "convergent at that h: ρ < 1)",
        "",
        *summary,
        "",
        "## Every run",
        "",
        "Cells: ✓ converged; → locally convergent at this h (ρ < 1) but not within 0.01 after its iterations; "
        "○ bounded but not converging (cycles, or stalls away from (0, 0)); ↗ moved away (final distance above 1.25× "
        "the start's); ✗ diverged to NaN. Then the final distance and ρ, the spectral radius of the update map's "
        "Jacobian at (0, 0), none where the field has a kink there. The field's eigenvalues at (0, 0) (of the "
        "continuous dynamics, in our coordinates, where ψ is the paper's -ψ) depend on neither h nor the update rule.",
        "",
        *full,
        "",
        "![trajectories](dirac_trajectories.png)",
        "",
        NOTES,
    ]
    (docs / "dirac_table.md").write_text("\n".join(report))
    print("\n".join(summary + [""] + full))
    print(f"{count} runs in {elapsed:.0f} s with {args.jobs} jobs")


if __name__ == "__main__":
    main()
