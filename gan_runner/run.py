"""One experiment: build everything from the composed config, train, evaluate, write the run's results.

It owns the run's output folder, result file, loggers and objective value; in a sweep, sweep/job.py adds
only a failure record and the job's placement to metrics.json. Under DDP every rank runs this function; rank 0
alone evaluates and writes.
"""
import contextlib
import logging
import math
import os
import socket
import time
from pathlib import Path

import lightning.pytorch as L
import torch
from omegaconf import DictConfig, OmegaConf

from gan_runner import dashboard, distributed, identity, quiet, results
from gan_runner.build import build_module, build_trainer, instantiate
from gan_runner.callbacks import FirstStepTime, PeriodicEvaluation, RollingCheckpoint, restore_recorded
from gan_runner.checkpoint import last_checkpoint, read_resumable
from gan_runner.checkpoint import read as read_checkpoint
from gan_runner.claim import claim
from gan_runner.csv_logger import ResumableCSVLogger
from gan_runner.data.stream import BatchStream
from gan_runner.errors import FolderRefused, UserError
from gan_runner.evaluation import build_evaluation
from gan_runner.metrics import directions
from gan_runner.modules.gan import Diverged
from gan_runner.validate import validate

log = logging.getLogger("gan_runner")
# lightning/__init__ gives its logger a console handler of its own; Hydra's root handlers already print and file
# every record, so without this each Lightning message appears twice (DESIGN.md pitfall 9).
logging.getLogger("lightning").handlers.clear()
quiet.install()


def objective_value(result: dict, name: str) -> float:
    """The objective for Hydra's sweepers; a failed or diverged run scores the worst value of the objective's
    direction (+inf, or -inf when higher is better), which an Optuna study of that direction ranks last."""
    value = result.get("metrics", {}).get("final", {}).get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else directions.worst(name)


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


def run(cfg: DictConfig) -> float:
    validate(cfg)
    out = Path(cfg.output_dir)
    # Rank 0 claims the folder before it reads or builds anything; a DDP run's other ranks work under its claim.
    with claim(out) if distributed.is_main_process() else contextlib.nullcontext():
        return _run(cfg, out)


def _run(cfg: DictConfig, out: Path) -> float:
    writer = distributed.is_main_process()
    metrics_path, ckpt_path = out / "metrics.json", last_checkpoint(out)
    previous = _recorded(metrics_path)
    now = identity.of(cfg)
    identity.check_recorded(cfg, out, previous, now)
    total = cfg.trainer.max_steps
    _refuse_shortening(out, previous.get("step", 0), total)
    if previous.get("status") == "completed" and previous.get("step") == total:
        # Returned as recorded: the checkpoint matters only to a run that trains on or is evaluated again.
        if previous.get("config_hash", {}).get("evaluation") == now["config_hash"]["evaluation"]:
            log.info("%s already holds a completed run of %d iterations", out, total)
            return objective_value(previous, cfg.objective)
        return _evaluate_again(cfg, out, previous, ckpt_path, now)
    resumed = read_resumable(ckpt_path)
    if resumed:
        identity.check_checkpoint(cfg, out, resumed["identity"], now)
        _refuse_shortening(out, resumed["iteration"], total)

    L.seed_everything(cfg.seed, verbose=False)
    data = instantiate(cfg.data.source)  # missing data fails here, before anything is written
    module = build_module(cfg, data)
    start = resumed["iteration"] if resumed else 0
    trainer = build_trainer(cfg, out, [])
    if isinstance(trainer.logger, ResumableCSVLogger):
        trainer.logger.resumed_at = start  # metrics.csv keeps the rows of the iterations resumed from
    stream = BatchStream(module.training_data(data), cfg.data.batch_size, module.n_critic, total, cfg.seed,
                         start=start, world_size=trainer.world_size)
    trainer.callbacks.append(RollingCheckpoint(ckpt_path, cfg.checkpoint_every_n_steps, total, now))
    if not writer:
        trainer.fit(module, train_dataloaders=stream, ckpt_path=ckpt_path if resumed else None, weights_only=True)
        return math.inf  # rank 0 reports the run

    history = [h for h in previous.get("history", []) if h["step"] <= start] + _final_before(previous, start)
    # Who is running it: gan-report tells a job whose process is gone (killed, out of memory) from a running one.
    process = {"pid": os.getpid(), "host": socket.gethostname()}
    before = {k: previous[k] for k in ("wall_time_s", "train_time_s") if resumed and k in previous}
    base = {"status": "running", "step": start, "max_steps": total, "objective": cfg.objective,
            **now, "history": history, "process": process, **before}

    def times() -> dict:
        """Seconds so far, added to what the folder recorded before: a resumed run goes on counting from its last
        record (a killed run's time after its last evaluation is lost with the work it did)."""
        elapsed = time.time() - started
        return {"wall_time_s": round(before.get("wall_time_s", 0.0) + elapsed, 2),
                "train_time_s": round(before.get("train_time_s", 0.0) + elapsed - periodic.seconds, 2)}

    def checkpoint_written(step_history):
        results.write(metrics_path, {**base, "step": module.iteration, "history": step_history, **times()})

    evaluation = _evaluation(cfg, data, trainer.strategy.root_device)
    first_step = FirstStepTime()
    periodic = PeriodicEvaluation(evaluation, cfg.metrics.every_n_steps, total, out / "samples", history,
                                  checkpoint_written)
    trainer.callbacks.extend([
        *getattr(evaluation, "callbacks", []),  # what an evaluation records during training (a game's trajectory)
        first_step,
        periodic,
    ])
    # Written only once everything is built: a refusal above (missing data or weights, impossible metrics
    # settings) leaves no file that looks like a run. The other ranks of a DDP run start from config.yaml.
    _save_config(cfg, out / "config.yaml")
    results.write(metrics_path, base)
    if resumed:
        log.info("resuming %s from iteration %d", out, start)

    started = time.time()
    status, error, final = "completed", None, {}
    # The logger shows the hyperparameters, pictures, final metrics and status (a raise in here: "failed").
    with dashboard.Record(trainer.logger, cfg) as record:
        try:
            trainer.fit(module, train_dataloaders=stream, ckpt_path=ckpt_path if resumed else None, weights_only=True)
        except Diverged as exc:
            status, error = "diverged", str(exc)
        spent = times()  # before the final evaluation: training's time
        if status == "completed":
            final = evaluation(module, out / "samples" / "final.png")
        record.finish(status, final, module.iteration)
    result = {
        **base,
        "status": status,
        "error": error,
        "step": module.iteration,
        # Seconds in trainer.fit less its periodic evaluations (setup and checkpoints included), over every resume.
        "train_time_s": spent["train_time_s"],
        "wall_time_s": times()["wall_time_s"],
        "first_step_at": first_step.at,
        "metrics": {"final": final, "best": results.best(history, final, cfg.objective),
                    "protocol": evaluation.protocol},
    }
    result.pop("process")
    results.write(metrics_path, result)
    log.info("%s: %s", status, ", ".join(f"{k}={v:.4g}" for k, v in final.items()) or error)
    return objective_value(result, cfg.objective)


def _save_config(cfg: DictConfig, path: Path) -> None:
    results.atomically(path, lambda tmp: OmegaConf.save(cfg, tmp, resolve=True))


def _final_before(previous: dict, start: int) -> list[dict]:
    """An extended run's earlier final evaluation, at the iteration it resumes from: one of its evaluations now."""
    final = previous.get("metrics", {}).get("final")
    if previous.get("status") != "completed" or previous.get("step") != start or not final:
        return []
    return [{"step": start, **final}]


def _evaluation(cfg: DictConfig, data, device):
    # Inside fork_rng: the ranks of a DDP run keep identical RNG streams, and only rank 0 builds an evaluation.
    with torch.random.fork_rng(devices=[]):
        return build_evaluation(cfg.metrics, data, device)


def _evaluate_again(cfg: DictConfig, out: Path, previous: dict, ckpt_path: Path, now: dict) -> float:
    """A finished run asked for another evaluation protocol: its final weights, and what training recorded beside
    them (a game's trajectory), evaluated the new way; config.yaml then says how it was evaluated."""
    log.info("%s: evaluating the finished run again with the new metrics settings", out)
    checkpoint = read_checkpoint(ckpt_path)
    identity.check_checkpoint(cfg, out, checkpoint.get("identity"), now)
    data = instantiate(cfg.data.source)
    module = build_module(cfg, data)
    module.load_state_dict(checkpoint["state_dict"])
    module.iteration = previous["step"]
    evaluation = _evaluation(cfg, data, torch.device("cpu"))
    restore_recorded(getattr(evaluation, "callbacks", []), checkpoint, module)
    final = evaluation(module, out / "samples" / "final.png")
    result = {**previous, **now, "objective": cfg.objective,
              "metrics": {"final": final, "best": results.best([], final, cfg.objective),
                          "protocol": evaluation.protocol}}
    _save_config(cfg, out / "config.yaml")
    results.write(out / "metrics.json", result)
    return objective_value(result, cfg.objective)
