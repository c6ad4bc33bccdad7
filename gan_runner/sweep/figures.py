"""The sweep's plots: the objective of each configuration, learning curves, and a gallery of final samples.

Each function returns False, and draws nothing, when the sweep has nothing to show for it yet.
"""
import math
import textwrap
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters and CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from gan_runner.metrics import directions  # noqa: E402
from gan_runner.sweep.summary import STATUSES, Row  # noqa: E402

MAX_BARS, MAX_CURVES, MAX_TILES = 40, 10, 12


def wrap(text: str, width: int = 45) -> str:
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


def _shown(rows: list[Row], limit: int, what: str) -> tuple[list[Row], str]:
    return rows[:limit], (f" ({limit} best of {len(rows)} {what})" if len(rows) > limit else "")


def objective_chart(rows: list[Row], objective: str, path: Path) -> bool:
    """Horizontal bars, best on top: mean over seeds, ±1 std, one dot per seed; what did not complete in red."""
    rows, note = _shown(rows, MAX_BARS, "configurations")
    if not any(row.values(objective) for row in rows):
        return False
    labels = [f"{wrap(row.config)}  (n={len(row.completed)})" for row in rows]
    height = 1.6 + sum(0.28 * (label.count("\n") + 1) + 0.18 for label in labels)
    fig, ax = plt.subplots(figsize=(10, height), layout="constrained")
    for i, row in enumerate(rows):
        values, mean, std = row.values(objective), row.mean(objective), row.std(objective)
        # the note goes after the bar, or at the left edge when there is none (x in axes units there)
        where, transform = (0.005, ax.get_yaxis_transform())
        if values:
            ax.barh(i, mean, xerr=0 if math.isnan(std) else std, capsize=3, height=0.6,
                    color="tab:green" if i == 0 else "tab:blue", alpha=0.75)
            ax.scatter(values, [i] * len(values), s=14, color="black", zorder=3)
            where, transform = max(values + [mean + (0 if math.isnan(std) else std)]), ax.transData
        problems = ", ".join(f"{row.count(s)} {s}" for s in STATUSES[1:] if row.count(s))
        if problems:
            ax.annotate(problems, (where, i), xycoords=transform, xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=8, color="tab:red")
    finite = [v for row in rows for v in row.values(objective) if v > 0]
    if finite and max(finite) / min(finite) > 100:  # e.g. a few runs that blew up next to good ones
        ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), labels=labels, fontsize=8)
    ax.set_ylim(len(rows) - 0.4, -0.6)  # best on top, and room for the last row's note
    ax.set_xlabel(f"final {objective} ({directions.said(objective)}): bar = mean over seeds, line = ±1 std, "
                  "dot = one seed")
    ax.set_title(f"{objective} by configuration{note}")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _mean_curve(series: list[list[tuple[float, float]]]) -> tuple[list[float], list[float], list[float], list[float]]:
    """Mean over seeds at each x, and the min-max band."""
    at = defaultdict(list)
    for points in series:
        for x, y in points:
            at[x].append(y)
    xs = sorted(at)
    return xs, [sum(at[x]) / len(at[x]) for x in xs], [min(at[x]) for x in xs], [max(at[x]) for x in xs]


def _objective_series(row: Row, objective: str) -> list[list[tuple[float, float]]]:
    return [[(p["step"], p[objective]) for p in job.history()
             if p.get(objective) is not None and math.isfinite(p[objective])] for job in row.jobs]


def _loss_series(row: Row, loss: str) -> list[list[tuple[float, float]]]:
    return [[(r.get("iteration", r.get("step")), r[loss]) for r in job.losses() if loss in r] for job in row.jobs]


def learning_curves(rows: list[Row], objective: str, path: Path) -> bool:
    """The objective at each evaluation (metrics.json history) and, when the CSV logger ran, D and G losses."""
    rows = [row for row in rows if any(_objective_series(row, objective))]
    rows, note = _shown(rows, MAX_CURVES, "configurations")
    if not rows:
        return False
    panels = [(objective, f"{objective} (evaluations)", _objective_series)]
    panels += [(loss, f"{loss} (training log)", _loss_series) for loss in ("d_loss", "g_loss")
               if any(any(_loss_series(row, loss)) for row in rows)]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(9, 5 * len(panels) + 1), 4.2 + 0.22 * len(rows)),
                             layout="constrained", squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, (key, title, series_of) in zip(axes[0], panels):
        for i, row in enumerate(rows):
            xs, mean, low, high = _mean_curve(series_of(row, key))
            if not xs:
                continue
            ax.plot(xs, mean, color=colors(i), marker="o" if len(xs) < 12 else None, markersize=4,
                    label=wrap(f"{row.config} (n={len(row.jobs)})", 60))
            if len(row.jobs) > 1:
                ax.fill_between(xs, low, high, color=colors(i), alpha=0.12, linewidth=0)
        ax.set_title(title)
        ax.set_xlabel("iteration (G steps)")
        # Iterations are whole numbers from 0: one evaluation alone would otherwise sit on a fractional axis.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(left=0)
        ax.ticklabel_format(axis="y", useOffset=False)  # values, not "1e-5 + 9.968e-1" offsets
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(f"Learning curves{note}\nline = mean over seeds, band = min to max")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def gallery(rows: list[Row], objective: str, path: Path) -> bool:
    """The final sample grid of each configuration's best seed, best configuration first."""
    tiles = [(row, job) for row in rows if (job := row.best_job(objective)) and job.samples]
    shown, note = _shown(tiles, MAX_TILES, "configurations with samples")
    if not shown:
        return False
    cols = min(4, len(shown))
    lines = max(wrap(row.config, 34).count("\n") + 1 for row, _ in shown)
    fig, axes = plt.subplots(math.ceil(len(shown) / cols), cols, squeeze=False, layout="constrained",
                             figsize=(3.6 * cols, (3.4 + 0.18 * lines) * math.ceil(len(shown) / cols)))
    for ax, (row, job) in zip(axes.flat, shown):
        ax.imshow(plt.imread(job.samples))
        seed = f"seed {job.seed}, " if job.seed else ""
        ax.set_title(f"{wrap(row.config, 34)}\n{seed}{objective} = {job.final[objective]:.4g}", fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(f"Final samples, best seed of each configuration{note}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
