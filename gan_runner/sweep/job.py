"""One job of a sweep: placed on its share of the machine, its failure written down instead of ending the sweep.

Hydra aborts a multirun at the first job that raises and discards the return values (DESIGN.md pitfall 7), so a
job catches its own failure, records it beside its results and scores the worst value of its objective's direction
(+inf, or -inf when higher is better), which a sweeper of that direction ranks last.
"""
import contextlib
import logging
import os
import socket
import time
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from omegaconf import DictConfig

from gan_runner import results
from gan_runner.errors import FolderRefused, UserError
from gan_runner.metrics import directions
from gan_runner.sweep.slots import SLOTS_ENV, gpu_slot

log = logging.getLogger("gan_runner")
TRACEBACK_FILE = "traceback.txt"
DAMAGED_SUFFIX = ".damaged"

_jobs_in_process = 0  # joblib and the basic launcher run several jobs in one process


def process_started_at() -> float | None:
    """Unix time this process started, to 10 ms (Linux /proc); None elsewhere."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    return time.time() - uptime + start_ticks / os.sysconf("SC_CLK_TCK")


def record_failure(out: Path, exc: BaseException) -> None:
    """metrics.json says `failed` with a one-line error (what a report shows); the traceback goes beside it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / TRACEBACK_FILE).write_text("".join(traceback.format_exception(exc)))
    while isinstance(exc, InstantiationException) and exc.__cause__:  # "Error in call to target ..." says little
        exc = exc.__cause__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    path = out / "metrics.json"
    try:
        previous = results.read(path) or {}
    except ValueError:  # truncated or edited: kept beside for whoever wants to look, the failure in a fresh file
        kept = path.with_name(f"{path.name}{DAMAGED_SUFFIX}")
        os.replace(path, kept)
        previous, error = {}, f"{error} (the unreadable file is kept as {kept.name})"
    results.write(path, {**previous, "status": "failed", "error": error})


def _placement(record: dict, sweeping: bool) -> contextlib.AbstractContextManager:
    """The GPU slot of hydra/launcher=gpus in a multirun, claimed before torch can touch CUDA; nothing otherwise
    (Hydra sets the launcher's environment for a single run too, where there is nothing to share)."""
    n_slots = int(os.environ.get(SLOTS_ENV, 0))
    if not (sweeping and n_slots):
        return contextlib.nullcontext()
    return gpu_slot(Path(HydraConfig.get().sweep.dir) / ".gpu_slots", n_slots, record)


def _set_threads(record: dict) -> None:
    """Honour OMP_NUM_THREADS (set per job by the launcher presets) also in a reused worker, where torch was
    imported, and its thread count fixed, by an earlier job."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    record["threads"] = torch.get_num_threads()


def run_job(cfg: DictConfig) -> float:
    """Run `cfg` and return its objective; in a multirun, a job that raises is recorded and scores the worst value
    (unless sweep.continue_on_failure=false). A single run's UserError stays one line, with nothing written."""
    global _jobs_in_process
    _jobs_in_process += 1
    out = Path(cfg.output_dir)
    sweeping = HydraConfig.get().mode == RunMode.MULTIRUN
    record = {"pid": os.getpid(), "host": socket.gethostname(), "process_started_at": process_started_at(),
              "started_at": time.time(), "index_in_process": _jobs_in_process}
    metrics_path = out / "metrics.json"
    before, refused = _read_quietly(metrics_path), False
    try:
        # Everything a job does is inside the failure record, placing it and importing torch included: an
        # exception that escaped here would end a joblib sweep and leave the job without a status.
        with _placement(record, sweeping):
            _set_threads(record)
            from gan_runner.run import run  # torch and Lightning: after the GPU slot is chosen

            return run(cfg)
    except Exception as exc:
        # A folder that holds another run, or that another process works in, is not this job's to write in.
        refused = isinstance(exc, FolderRefused)
        if isinstance(exc, UserError) and not sweeping:
            raise
        if not refused:
            record_failure(out, exc)
        if not (sweeping and cfg.sweep.continue_on_failure):
            raise
        log.error("job %s failed (%s); the sweep goes on", out, exc if refused else type(exc).__name__)
        return directions.worst(cfg.objective)
    finally:
        record["ended_at"] = time.time()
        after = _read_quietly(metrics_path)
        # A completed job run again only returned its result: its record of the job that made it stays.
        if after is not None and after != before and not refused:
            results.write(metrics_path, {**after, "job": record})


def _read_quietly(path: Path) -> dict | None:
    try:
        return results.read(path)
    except ValueError:  # a truncated file: the run rewrites it or records its failure
        return None
