"""One experiment: build everything from the composed config, train, evaluate, write the run's results.

It owns the run's output folder, result file, loggers and objective value; in a sweep, sweep/job.py adds
only a failure record and the job's placement to metrics.json.
"""
import logging
import math
import os
import socket
import time
from pathlib import Path

import lightning.pytorch as L
from omegaconf import DictConfig, OmegaConf

from gan_runner import dashboard, results
from gan_runner.build import build_module, build_trainer, instantiate
from gan_runner.callbacks import FirstStepTime, PeriodicEvaluation, RollingCheckpoint
from gan_runner.checkpoint import last_checkpoint, read_resumable
from gan_runner.data.stream import BatchStream
from gan_runner.evaluation import build_evaluation
from gan_runner.modules.gan import Diverged
from gan_runner.validate import validate

log = logging.getLogger("gan_runner")
# lightning/__init__ gives its logger a console handler of its own; Hydra's root handlers already print and file
# every record, so without this each Lightning message appears twice (DESIGN.md pitfall 9).
logging.getLogger("lightning").handlers.clear()


def objective_value(result: dict, name: str) -> float:
    """A finite float for Hydra's sweepers; a failed or diverged run scores +inf."""
    value = result.get("metrics", {}).get("final", {}).get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else math.inf


def run(cfg: DictConfig) -> float:
    validate(cfg)
    out = Path(cfg.output_dir)
    metrics_path, ckpt_path = out / "metrics.json", last_checkpoint(out)
    resumed = read_resumable(ckpt_path)
    previous = results.read(metrics_path) or {}
    total = cfg.trainer.max_steps
    if previous.get("status") == "completed" and previous.get("step", 0) >= total:
        log.info("%s already holds a completed run of %d iterations", out, previous["step"])
        return objective_value(previous, cfg.objective)

    out.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, verbose=False)
    data = instantiate(cfg.data.source)  # missing data fails here, before anything is written
    module = build_module(cfg, data)
    start = resumed["iteration"] if resumed else 0
    history = [h for h in previous.get("history", []) if h["step"] <= start]
    # Who is running it: gan-report tells a job whose process is gone (killed, out of memory) from a running one.
    process = {"pid": os.getpid(), "host": socket.gethostname()}
    base = {"status": "running", "step": start, "objective": cfg.objective, "history": history, "process": process}

    def checkpoint_written(step_history):
        results.write(metrics_path, {**base, "step": module.iteration, "history": step_history})

    trainer = build_trainer(cfg, out, [])
    evaluation = build_evaluation(cfg.metrics, data, trainer.strategy.root_device)
    first_step = FirstStepTime()
    trainer.callbacks.extend([
        first_step,
        PeriodicEvaluation(evaluation, cfg.metrics.every_n_steps, total, out / "samples", history, checkpoint_written),
        RollingCheckpoint(ckpt_path, cfg.checkpoint_every_n_steps, total),
    ])
    stream = BatchStream(data, cfg.data.batch_size, module.n_critic, total, cfg.seed, start=start)
    # Written only once everything is built: a refusal above (missing data or weights, impossible metrics
    # settings) leaves no file that looks like a run.
    OmegaConf.save(cfg, out / "config.yaml", resolve=True)
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
        if status == "completed":
            final = evaluation(module, out / "samples" / "final.png")
        record.finish(status, final, module.iteration)
    result = {
        "status": status,
        "error": error,
        "step": module.iteration,
        "wall_time_s": round(previous.get("wall_time_s", 0.0) * bool(resumed) + time.time() - started, 2),
        "first_step_at": first_step.at,
        "objective": cfg.objective,
        "metrics": {"final": final, "best": results.best(history, final, cfg.objective),
                    "protocol": evaluation.protocol},
        "history": history,
    }
    results.write(metrics_path, result)
    log.info("%s: %s", status, ", ".join(f"{k}={v:.4g}" for k, v in final.items()) or error)
    return objective_value(result, cfg.objective)
