"""Start-up cost of an image folder of real size: decode time and resident memory of each job before its first
training step, with an empty decode cache and with a filled one, and of a 4-job sweep started together.

    .venv/bin/python scripts/bench_folder.py DIR [--n 20000] [--size 64] [--steps 20] [--jobs 4] [--baseline CHECKOUT]

DIR receives the folder (`scripts/shapes_folder.py`: n PNGs of synthetic shapes, no class subfolders; written
once). Every job is a real `gan-runner` process (DCGAN, `trainer.max_steps` = --steps, a 500-image evaluation at the
end only), watched from outside every 50 ms through /proc: VmHWM (the kernel's peak resident set), RssAnon (private
memory: a copy of the images would be here) and RssFile (mapped files: the decode cache, shared with the page cache
and with every other job). The run's metrics.json says when its first step began; its log how long decoding took.
--baseline runs the same first job with another checkout's code (PYTHONPATH), e.g. an older gan-runner.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from shapes_folder import make_folder

from gan_runner import results

FIELDS = ("VmHWM", "VmRSS", "RssAnon", "RssFile")
JOB = ["data=folder", "metrics.num_samples=500", "metrics.every_n_steps=0", "metrics.pictures=false",
       "trainer.enable_progress_bar=false"]


def _status(pid: int) -> dict[str, int] | None:
    """The memory fields of /proc/<pid>/status, in MiB; None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = dict(re.findall(r"^(\w+):\s+(\d+) kB", text, re.M))
    return {k: int(found.get(k, 0)) / 1024 for k in FIELDS}


def _children() -> dict[int, list[int]]:
    """Every process's children, from the parent pid in /proc/<pid>/stat."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        found.setdefault(parent, []).append(int(stat.parent.name))
    return found


class Watcher(threading.Thread):
    """Samples the memory of a process and all its descendants until it exits: {pid: [(time, fields), ...]}."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.samples, self.done = root, {}, threading.Event()

    def run(self) -> None:
        tick, children = 0, {}
        while not self.done.is_set():
            if tick % 10 == 0:  # scanning all of /proc costs more than reading a few status files
                children = _children()
            now, todo, tick = time.time(), [self.root], tick + 1
            while todo:
                pid = todo.pop()
                fields = _status(pid)
                if fields is not None:
                    self.samples.setdefault(pid, []).append((now, fields))
                    todo += children.get(pid, [])
            time.sleep(0.05)


def watched(command: list[str], env: dict) -> dict:
    # Not from a checkout: `python -m gan_runner` imports the current folder's package before PYTHONPATH's.
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               cwd=tempfile.gettempdir())
    watcher = Watcher(process.pid)
    watcher.start()
    _, err = process.communicate()
    watcher.done.set()
    watcher.join()
    if process.returncode:
        print(f"  (exit code {process.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''})")
    return watcher.samples


def job_row(samples: list, run_dir: Path) -> dict:
    """Decode time, start-up and memory of one job before its first step and overall, from its samples and files."""
    result = results.read(run_dir / "metrics.json") or {}
    first = result.get("first_step_at") or float("inf")  # a job refused before training never reaches it
    before = [fields for t, fields in samples if t < first] or [samples[0][1]]
    peak = max(fields["VmHWM"] for _, fields in samples)  # an exited process's last status has no memory fields
    log = (run_dir / "gan_runner.log").read_text() if (run_dir / "gan_runner.log").exists() else ""
    decode = re.search(r"decoded \d+ images of .* in ([\d.]+) s", log)
    job = result.get("job", {})
    return {"decode s": float(decode.group(1)) if decode else None,
            "start-up s": first - job["process_started_at"] if job and first < float("inf") else None,
            "peak RSS before step 1": max(f["VmHWM"] for f in before),
            "private (RssAnon) before": max(f["RssAnon"] for f in before),
            "mapped files (RssFile) before": max(f["RssFile"] for f in before),
            "peak RSS whole job": peak,
            "wall s": samples[-1][0] - samples[0][0]}


def print_row(name: str, row: dict) -> None:
    cells = "".join(f"{'-' if v is None else f'{v:.1f}':>12}" for v in row.values())
    print(f"{name:<34}{cells}", flush=True)


def one_job(label: str, folder: Path, cache: Path, run_dir: Path, size: int, steps: int,
            baseline: str | None = None) -> None:
    env = {**os.environ, "GAN_RUNNER_CACHE": str(cache), "WANDB_MODE": "offline"}
    if baseline:
        env["PYTHONPATH"] = baseline
    command = [sys.executable, "-m", "gan_runner", *JOB, f"data.root={folder}", f"data.image_size={size}",
               f"trainer.max_steps={steps}", f"hydra.run.dir={run_dir}"]
    samples = watched(command, env)
    print_row(label, job_row(samples[min(samples)], run_dir))


def sweep(folder: Path, cache: Path, tmp: Path, size: int, steps: int, jobs: int) -> None:
    sweep_dir = tmp / "sweep"
    env = {**os.environ, "GAN_RUNNER_CACHE": str(cache), "WANDB_MODE": "offline"}
    command = [sys.executable, "-m", "gan_runner", "-m", "hydra/launcher=cpus", f"hydra.launcher.n_jobs={jobs}",
               *JOB, f"data.root={folder}", f"data.image_size={size}", f"trainer.max_steps={steps}",
               f"seed={','.join(map(str, range(jobs)))}",
               f"hydra.sweep.dir={sweep_dir}"]
    start = time.perf_counter()
    samples = watched(command, env)
    wall = time.perf_counter() - start
    rows = []
    for number, run_dir in enumerate(sorted(p.parent for p in sweep_dir.glob("*/metrics.json")), 1):
        pid = results.read(run_dir / "metrics.json")["job"]["pid"]
        rows.append(job_row(samples[pid], run_dir))
        print_row(f"sweep job {number}", rows[-1])
    peaks = [r["peak RSS whole job"] for r in rows]
    print(f"{jobs}-job sweep: {wall:.1f} s wall; peak RSS per job summed {sum(peaks):.0f} MiB, largest job "
          f"{max(peaks):.0f} MiB; private memory (RssAnon) before step 1 summed "
          f"{sum(r['private (RssAnon) before'] for r in rows):.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--size", type=int, default=64, help="pixels of the images and of the runs (data.image_size)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=4, help="jobs of the sweep (0: no sweep)")
    parser.add_argument("--baseline", help="a checkout of another gan-runner, measured the same way (first row)")
    args = parser.parse_args()
    make_folder(args.folder, args.n, args.size)
    print(f"{args.n} PNGs of {args.size} px in {args.folder}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores; memory in MiB")
    print(f"{'':<34}" + "".join(f"{h:>12}" for h in ("decode s", "start-up s", "RSS<step1", "anon<step1",
                                                      "file<step1", "RSS peak", "wall s")))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.baseline:
            one_job("baseline code", args.folder, tmp / "baseline-cache", tmp / "baseline", args.size, args.steps,
                    args.baseline)
        one_job("one job, empty cache", args.folder, tmp / "cache", tmp / "first", args.size, args.steps)
        one_job("one job, cached", args.folder, tmp / "cache", tmp / "cached", args.size, args.steps)
        if args.jobs:
            sweep(args.folder, tmp / "sweep-cache", tmp, args.size, args.steps, args.jobs)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
