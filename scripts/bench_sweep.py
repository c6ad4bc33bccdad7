"""Parallel CPU sweeps: the same small jobs (4 by default) one after another (Hydra's basic launcher: one process,
torch's default threads) and side by side (hydra/launcher=cpus: one single-threaded job per core), on this machine.

    .venv/bin/python scripts/bench_sweep.py [--steps 3000] [--jobs 4] [overrides ...]

The default jobs are the toy catalogue's (ring, MLP width 64, batch 128, the toy presets' 3,000 iterations): too
small for torch's own threads to help, which is when a sweep needs the parallel launcher. Jobs that already keep
every core busy gain less (e.g. `model.width=256 data.batch_size=256`: one job runs 1.4x faster on 2 threads than
on 1, so 2/1.4 is their ceiling). With OMP_NUM_THREADS=1 the sequential jobs are single-threaded too, which
isolates what the launcher adds from what torch's own threads give.

Prints each job's start-up time (process start to its first training step; for a later job of a process that
already ran one, job start to first step), each sweep's wall time from the command line, and as its last line
`parallel speedup: S` (sequential wall time / parallel wall time).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gan_runner.sweep.collect import collect

JOBS = ["data=ring", "model=mlp", "model.width=64", "data.batch_size=128", "metrics.every_n_steps=0",
        "trainer.enable_progress_bar=false"]
MODES = {"sequential": [], "parallel": ["hydra/launcher=cpus"]}


def sweep(mode: str, folder: Path, steps: int, jobs: int, overrides: list[str]) -> float:
    """Run the jobs (seeds 0..jobs-1) with one launcher; the wall time of the whole command."""
    seeds = ",".join(map(str, range(jobs)))
    command = [sys.executable, "-m", "gan_runner", "-m", *MODES[mode], f"hydra.sweep.dir={folder}",
               f"trainer.max_steps={steps}", *JOBS, f"seed={seeds}", *overrides]
    env = {**os.environ, "WANDB_MODE": "offline"}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{mode} sweep failed:\n{done.stderr[-3000:]}")
    return wall


def startup(job: dict, first_step_at: float) -> float:
    ready = job["process_started_at"] if job["index_in_process"] == 1 else job["started_at"]
    return first_step_at - ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="training iterations of each job")
    parser.add_argument("--jobs", type=int, default=4, help="jobs of each sweep (seeds 0..jobs-1)")
    parser.add_argument("overrides", nargs="*", help="more overrides for every job")
    args = parser.parse_args()
    walls = {}
    print(f"{'sweep':<11} {'job':>3} {'pid':>7} {'threads':>7} {'start-up s':>10} {'job s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in MODES:
            walls[mode] = sweep(mode, Path(tmp) / mode, args.steps, args.jobs, args.overrides)
            # job folders are named by their configuration; collect() reads them in Hydra's job order
            jobs = collect(Path(tmp) / mode)
            if len(jobs) != args.jobs:
                sys.exit(f"the {mode} sweep left {len(jobs)} job folders, not {args.jobs}")
            for n, found in enumerate(jobs):
                result = found.result
                if result.get("first_step_at") is None:
                    sys.exit("metrics.json has no first_step_at: the run must record when its first step began")
                job = result["job"]
                print(f"{mode:<11} {n:>3} {job['pid']:>7} {job['threads']:>7} "
                      f"{startup(job, result['first_step_at']):>10.2f} {job['ended_at'] - job['started_at']:>6.1f}")
    for mode, wall in walls.items():
        print(f"{mode} sweep: {wall:.1f} s wall ({os.cpu_count()} cores, {args.jobs} jobs of {args.steps} iterations)")
    # other processes on the machine slow both sweeps, multi-threaded jobs the most: say how busy it was
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"parallel speedup: {walls['sequential'] / walls['parallel']:.2f}")


if __name__ == "__main__":
    main()
