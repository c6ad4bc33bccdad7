"""A run's folder: what it holds before training (its record, the checkpoint to resume from, both vetted against the
run's configuration), and the record that metrics.json keeps while the run trains and when it ends. run.py writes
one run's folder; an ensemble (ensemble/run.py) writes each member's the same way."""
import logging
import math
import os
import socket
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gan_runner import identity, results
from gan_runner.checkpoint import last_checkpoint, read_resumable
from gan_runner.errors import FolderRefused, UserError
from gan_runner.metrics import directions

log = logging.getLogger("gan_runner")


def objective_value(result: dict, name: str) -> float:
    """The objective for Hydra's sweepers; a failed or diverged run scores the worst value of the objective's
    direction (+inf, or -inf when higher is better), which an Optuna study of that direction ranks last."""
    value = result.get("metrics", {}).get("final", {}).get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else directions.worst(name)


class Folder:
    """The folder of `cfg`'s run, read and vetted: a record of another configuration, a run longer than asked or a
    checkpoint of another run is refused in one line before anything is built."""

    def __init__(self, cfg: DictConfig, out: Path):
        self.cfg, self.out = cfg, out
        self.metrics_path, self.checkpoint = out / "metrics.json", last_checkpoint(out)
        self.previous = _recorded(self.metrics_path)
        self.now = identity.of(cfg)
        identity.check_recorded(cfg, out, self.previous, self.now)
        self.total = cfg.trainer.max_steps
        _refuse_shortening(out, self.previous.get("step", 0), self.total)
        self.resumed = None if self.finished else read_resumable(self.checkpoint)
        if self.resumed:
            identity.check_checkpoint(cfg, out, self.resumed["identity"], self.now)
            _refuse_shortening(out, self.resumed["iteration"], self.total)

    @property
    def finished(self) -> bool:
        """A completed run of the asked length (returned as recorded, or evaluated again: never trained on)."""
        return self.previous.get("status") == "completed" and self.previous.get("step") == self.total

    @property
    def evaluated_alike(self) -> bool:
        return self.previous.get("config_hash", {}).get("evaluation") == self.now["config_hash"]["evaluation"]

    @property
    def start(self) -> int:
        return self.resumed["iteration"] if self.resumed else 0

    def save_config(self) -> None:
        results.atomically(self.out / "config.yaml", lambda tmp: OmegaConf.save(self.cfg, tmp, resolve=True))


class RunRecord:
    """metrics.json of a run that trains: `running` while it does (at each checkpoint), `finish` at its end."""

    def __init__(self, folder: Folder, **extra):
        self.folder, previous, start = folder, folder.previous, folder.start
        self.history = [h for h in previous.get("history", []) if h["step"] <= start] + _final_before(previous, start)
        # What went before a resume: times go on counting from the folder's last record.
        self.before = {k: previous[k] for k in ("wall_time_s", "train_time_s") if folder.resumed and k in previous}
        # Who is running it: gan-report tells a job whose process is gone (killed, out of memory) from a running one.
        process = {"pid": os.getpid(), "host": socket.gethostname()}
        self.base = {"status": "running", "step": start, "max_steps": folder.total,
                     "objective": folder.cfg.objective, **folder.now, "history": self.history, "process": process,
                     **self.before, **extra}
        self.started = time.time()

    def begin(self) -> None:
        """Written only once everything is built: a refusal before it leaves no file that looks like a run."""
        self.folder.save_config()
        results.write(self.folder.metrics_path, self.base)
        self.started = time.time()

    def times(self, evaluating_s: float) -> dict:
        """Seconds so far, added to what the folder recorded before (a killed run's time after its last record is
        lost with the work it did); training's time leaves out `evaluating_s`, its periodic evaluations."""
        elapsed = time.time() - self.started
        return {"wall_time_s": round(self.before.get("wall_time_s", 0.0) + elapsed, 2),
                "train_time_s": round(self.before.get("train_time_s", 0.0) + elapsed - evaluating_s, 2)}

    def running(self, step: int, evaluating_s: float) -> None:
        results.write(self.folder.metrics_path, {**self.base, "step": step, "history": self.history,
                                                 **self.times(evaluating_s)})

    def finish(self, status: str, error: str | None, step: int, train_time_s: float, first_step_at: float | None,
               final: dict, protocol) -> float:
        """The final record; returns the objective."""
        cfg = self.folder.cfg
        result = {
            **self.base,
            "status": status,
            "error": error,
            "step": step,
            # Seconds in training less its periodic evaluations (setup and checkpoints included), over every resume.
            "train_time_s": train_time_s,
            "wall_time_s": self.times(0.0)["wall_time_s"],
            "first_step_at": first_step_at,
            "metrics": {"final": final, "best": results.best(self.history, final, cfg.objective),
                        "protocol": protocol},
        }
        result.pop("process")
        results.write(self.folder.metrics_path, result)
        log.info("%s: %s", status, ", ".join(f"{k}={v:.4g}" for k, v in final.items()) or error)
        return objective_value(result, cfg.objective)


def _refuse_shortening(out: Path, done: int, total: int) -> None:
    if done > total:
        raise FolderRefused(f"{out} holds a run of {done} iterations; trainer.max_steps={total} cannot shorten it: "
                            f"pass trainer.max_steps>={done}, or choose another hydra.run.dir")


def _recorded(path: Path) -> dict:
    """metrics.json, {} when there is none; a damaged one is named in one line (a sweep job sets it aside)."""
    try:
        return results.read(path) or {}
    except ValueError as exc:  # truncated by a crash or edited: JSONDecodeError, UnicodeDecodeError
        raise UserError(f"{path} cannot be read ({str(exc).splitlines()[0][:120]}): move it aside to resume the run "
                        "from its checkpoint, or choose another hydra.run.dir") from None


def _final_before(previous: dict, start: int) -> list[dict]:
    """An extended run's earlier final evaluation, at the iteration it resumes from: one of its evaluations now."""
    final = previous.get("metrics", {}).get("final")
    if previous.get("status") != "completed" or previous.get("step") != start or not final:
        return []
    return [{"step": start, **final}]
