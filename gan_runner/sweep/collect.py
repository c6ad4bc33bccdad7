"""Read what the jobs of a sweep wrote, and nothing else: .hydra/overrides.yaml, metrics.json, the CSV log and
samples/final.png. A job that has not written a file yet is simply missing it (the sweep may still be running)."""
import csv
import math
from dataclasses import dataclass
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from gan_runner import results

SEED_KEY = "seed"


def number(value) -> float | None:
    """A metric as a float: metrics.json writes non-finite values as strings ("nan", "inf")."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Job:
    dir: Path
    overrides: list[str]
    result: dict  # metrics.json; {} until the job writes it

    @property
    def status(self) -> str:
        status = self.result.get("status", "pending")
        return "stopped" if status == "running" and not results.process_alive(self.result.get("process")) else status

    @property
    def objective(self) -> str | None:
        return self.result.get("objective")

    @property
    def final(self) -> dict[str, float]:
        found = {k: number(v) for k, v in self.result.get("metrics", {}).get("final", {}).items()}
        return {k: v for k, v in found.items() if v is not None}

    @property
    def seed(self) -> str:
        return next((o.split("=", 1)[1] for o in self.overrides if o.split("=", 1)[0] == SEED_KEY), "")

    def history(self) -> list[dict]:
        """Periodic evaluations, then the final one, as {step, metric: value}."""
        points = [{k: number(v) if k != "step" else v for k, v in h.items()} for h in self.result.get("history", [])]
        if self.final:
            points.append({"step": self.result.get("step"), **self.final})
        return points

    def losses(self) -> list[dict[str, float]]:
        """Rows of the CSV logger's metrics.csv (empty without one), numbers only."""
        path = self.dir / "logs" / "metrics.csv"
        if not path.exists():
            return []
        with path.open() as f:
            rows = [{k: number(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]
        return [{k: v for k, v in row.items() if v is not None and math.isfinite(v)} for row in rows]

    @property
    def samples(self) -> Path | None:
        path = self.dir / "samples" / "final.png"
        return path if path.exists() else None


def _result(path: Path) -> dict:
    """metrics.json, {} before the job writes it; a file that does not parse (edited, truncated by a crash) is
    reported as the job's failure instead of ending the report."""
    try:
        return results.read(path) or {}
    except (ValueError, UnicodeDecodeError) as exc:
        return {"status": "failed", "error": f"{path.name} unreadable: {exc}"}


def job_number(job_dir: Path) -> float:
    """The job's number in its sweep (Hydra's hydra.job.num); folders are named by configuration, not number."""
    try:
        return float(yaml.safe_load((job_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["num"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return math.inf


def collect(sweep_dir: Path) -> list[Job]:
    """Every job folder under `sweep_dir` (one with .hydra/overrides.yaml), in job-number order."""
    jobs = []
    for overrides in sweep_dir.glob("**/.hydra/overrides.yaml"):
        job_dir = overrides.parent.parent
        listed = [str(o) for o in OmegaConf.to_container(OmegaConf.load(overrides))]
        jobs.append(Job(job_dir, listed, _result(job_dir / "metrics.json")))
    return sorted(jobs, key=lambda j: (job_number(j.dir), str(j.dir)))
