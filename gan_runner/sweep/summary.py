"""One row per configuration of a sweep (its overrides minus the seed): mean and spread over seeds of every final
metric, and how many of its jobs completed, diverged, failed, stopped (their process vanished) or are
still to finish."""
import csv
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gan_runner.metrics import directions
from gan_runner.sweep.collect import SEED_KEY, Job

STATUSES = ("completed", "diverged", "failed", "stopped", "running", "pending")


@dataclass
class Row:
    config: str
    jobs: list[Job] = field(default_factory=list)

    @property
    def completed(self) -> list[Job]:
        return [j for j in self.jobs if j.status == "completed"]

    def count(self, status: str) -> int:
        return sum(j.status == status for j in self.jobs)

    def values(self, metric: str) -> list[float]:
        """The metric's final value in each completed job that has a finite one."""
        found = (j.final.get(metric) for j in self.completed)
        return [v for v in found if v is not None and math.isfinite(v)]

    def mean(self, metric: str) -> float:
        values = self.values(metric)
        return statistics.fmean(values) if values else math.nan

    def std(self, metric: str) -> float:
        values = self.values(metric)
        return statistics.stdev(values) if len(values) > 1 else math.nan

    def best_job(self, objective: str) -> Job | None:
        """The completed job with the best objective in its direction; the first one when it does not rank."""
        scored = [j for j in self.completed if math.isfinite(j.final.get(objective, math.nan))]
        if not scored or directions.better(objective) is None:
            return scored[0] if scored else None
        return min(scored, key=lambda j: directions.rank_key(objective, j.final[objective]))


def common_overrides(jobs: list[Job]) -> list[str]:
    """Overrides every job shares (shown once instead of in every label)."""
    if len(jobs) < 2:
        return []
    shared = set(jobs[0].overrides).intersection(*(j.overrides for j in jobs[1:]))
    return [o for o in jobs[0].overrides if o in shared]


def group(jobs: list[Job]) -> list[Row]:
    common = set(common_overrides(jobs))
    rows: dict[str, Row] = {}
    for job in jobs:
        label = " ".join(o for o in job.overrides if o not in common and o.split("=", 1)[0] != SEED_KEY)
        label = label or "(no other overrides)"
        rows.setdefault(label, Row(label)).jobs.append(job)
    return list(rows.values())


def main_objective(jobs: list[Job]) -> str | None:
    """The objective most jobs report (a sweep over data sets could mix fid and w1)."""
    named = Counter(j.objective for j in jobs if j.objective)
    return named.most_common(1)[0][0] if named else None


def metric_names(jobs: list[Job]) -> list[str]:
    names: dict[str, None] = {}
    for job in jobs:
        names.update(dict.fromkeys(job.final))
    return list(names)


def ranked(rows: list[Row], objective: str | None) -> list[Row]:
    """Best mean objective first, in the objective's direction (metrics/directions.py); configurations without a
    result last; sweep order throughout for an objective that does not rank."""
    ranks = bool(objective) and directions.better(objective) is not None

    def key(row):
        value = row.mean(objective) if ranks else math.nan
        return (math.isnan(value), directions.rank_key(objective, value) if not math.isnan(value) else 0.0)

    return sorted(rows, key=key)


def write_csv(rows: list[Row], metrics: list[str], path: Path) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["config", "seeds", *STATUSES, *(f"{m}_{s}" for m in metrics for s in ("mean", "std")),
                      "error"])
        for row in rows:
            stats = [_csv_number(f(m)) for m in metrics for f in (row.mean, row.std)]
            error = next((j.result.get("error") for j in row.jobs if j.status == "failed"), "")
            out.writerow([row.config, len(row.completed), *(row.count(s) for s in STATUSES), *stats, error])


def _csv_number(value: float) -> str:
    return "" if math.isnan(value) else repr(value)
