"""report.md: the sweep's table for a person, with its failures and plots."""
import math
from pathlib import Path

from gan_runner.metrics import directions
from gan_runner.sweep.job import TRACEBACK_FILE
from gan_runner.sweep.summary import STATUSES, Row


def mean_std(row: Row, metric: str) -> str:
    mean, std = row.mean(metric), row.std(metric)
    if math.isnan(mean):
        return "—"
    text = f"{mean:.4g}" if math.isnan(std) else f"{mean:.4g} ± {std:.2g}"
    finite = len(row.values(metric))
    return text if finite == len(row.completed) else f"{text} (n={finite})"  # the other seeds gave nan or inf


def _problems(row: Row) -> str:
    counts = [f"{row.count(s)} {s}" for s in STATUSES[1:] if row.count(s)]
    return ", ".join(counts)


def table(rows: list[Row], objective: str | None, metrics: list[str]) -> str:
    columns = [objective] + [m for m in metrics if m != objective] if objective else metrics
    lines = [
        "| # | configuration | seeds | " + " | ".join(columns) + " | not completed |",
        "|---|---|---|" + "---|" * len(columns) + "---|",
    ]
    for rank, row in enumerate(rows, 1):
        cells = [str(rank), f"`{row.config}`", str(len(row.completed)), *(mean_std(row, m) for m in columns),
                 _problems(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _failures(rows: list[Row], sweep_dir: Path) -> list[str]:
    lines = []
    for row in rows:
        for job in row.jobs:
            if job.status in ("failed", "diverged", "stopped"):
                where = job.dir.relative_to(sweep_dir)
                more = f" (traceback: `{where}/{TRACEBACK_FILE}`)" if (job.dir / TRACEBACK_FILE).exists() else ""
                seed = f" seed={job.seed}" if job.seed else ""
                error = job.result.get("error") or (f"its process ended at iteration {job.result.get('step')} without "
                                                    "a result (killed?); the same sweep command resumes it")
                lines.append(f"- `{row.config}`{seed}, job `{where}`: **{job.status}**: {error}{more}")
    return lines


def report(sweep_dir: Path, rows: list[Row], objective: str | None, metrics: list[str], common: list[str],
           plots: dict[str, str]) -> str:
    jobs = [j for r in rows for j in r.jobs]
    counts = ", ".join(f"{n} {s}" for s in STATUSES if (n := sum(j.status == s for j in jobs)))
    order = (f"ranked by the objective `{objective}` ({directions.said(objective)})" if directions.better(objective)
             else f"in sweep order: the objective `{objective}` does not rank runs")
    parts = [
        f"# Sweep `{sweep_dir.name}`",
        f"{len(jobs)} jobs in {len(rows)} configurations: {counts}.",
        f"Final metrics, mean ± standard deviation over the seeds that completed; {order}." if objective
        else "No job has written its results yet.",
    ]
    if common:
        parts.append("Common to every job: `" + " ".join(common) + "`")
    parts.append(table(rows, objective, metrics))
    failures = _failures(rows, sweep_dir)
    if failures:
        parts += ["## Jobs that did not complete", "\n".join(failures)]
    for title, file in plots.items():
        parts += [f"## {title}", f"![{title}]({file})"]
    return "\n\n".join(parts) + "\n"
