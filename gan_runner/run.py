"""One experiment: build everything from the composed config, train, evaluate, write the run's results.

It owns the run's output folder, result file, loggers and objective value; in a sweep, sweep/job.py adds
only a failure record and the job's placement to metrics.json. Under DDP every rank runs this function; rank 0
alone evaluates and writes.
"""
import contextlib
import logging
import math
from pathlib import Path

import lightning.pytorch as L
import torch
from omegaconf import DictConfig

from gan_runner import dashboard, distributed, identity, quiet, results
from gan_runner.build import build_module, build_trainer, instantiate
from gan_runner.callbacks import FirstStepTime, PeriodicEvaluation, RollingCheckpoint, restore_recorded
from gan_runner.checkpoint import read as read_checkpoint
from gan_runner.claim import claim
from gan_runner.csv_logger import ResumableCSVLogger
from gan_runner.data.stream import BatchStream
from gan_runner.evaluation import build_evaluation
from gan_runner.modules.gan import Diverged
from gan_runner.run_folder import Folder, RunRecord, objective_value
from gan_runner.validate import validate

log = logging.getLogger("gan_runner")
# lightning/__init__ gives its logger a console handler of its own; Hydra's root handlers already print and file
# every record, so without this each Lightning message appears twice (DESIGN.md pitfall 9).
logging.getLogger("lightning").handlers.clear()
quiet.install()


def run(cfg: DictConfig) -> float:
    validate(cfg)
    out = Path(cfg.output_dir)
    # Rank 0 claims the folder before it reads or builds anything; a DDP run's other ranks work under its claim.
    with claim(out) if distributed.is_main_process() else contextlib.nullcontext():
        return _run(cfg, out)


def _run(cfg: DictConfig, out: Path) -> float:
    folder = Folder(cfg, out)
    if folder.finished:
        # Returned as recorded: the checkpoint matters only to a run that trains on or is evaluated again.
        if folder.evaluated_alike:
            log.info("%s already holds a completed run of %d iterations", out, folder.total)
            return objective_value(folder.previous, cfg.objective)
        return _evaluate_again(folder)

    L.seed_everything(cfg.seed, verbose=False)
    data = instantiate(cfg.data.source)  # missing data fails here, before anything is written
    module = build_module(cfg, data)
    start, total, resumed = folder.start, folder.total, folder.resumed
    trainer = build_trainer(cfg, out, [])
    if isinstance(trainer.logger, ResumableCSVLogger):
        trainer.logger.resumed_at = start  # metrics.csv keeps the rows of the iterations resumed from
    stream = BatchStream(module.training_data(data), cfg.data.batch_size, module.n_critic, total, cfg.seed,
                         start=start, world_size=trainer.world_size, sampler=cfg.data.get("sampler", "epoch"))
    trainer.callbacks.append(RollingCheckpoint(folder.checkpoint, cfg.checkpoint_every_n_steps, total, folder.now))
    ckpt_path = folder.checkpoint if resumed else None
    if not distributed.is_main_process():
        trainer.fit(module, train_dataloaders=stream, ckpt_path=ckpt_path, weights_only=True)
        return math.inf  # rank 0 reports the run

    record = RunRecord(folder)
    evaluation = evaluation_for(cfg, data, trainer.strategy.root_device)
    first_step = FirstStepTime()
    periodic = PeriodicEvaluation(evaluation, cfg.metrics.every_n_steps, total, out / "samples", record.history,
                                  lambda history: record.running(module.iteration, periodic.seconds))
    trainer.callbacks.extend([
        *getattr(evaluation, "callbacks", []),  # what an evaluation records during training (a game's trajectory)
        first_step,
        periodic,
    ])
    # The other ranks of a DDP run start from the config.yaml written here.
    record.begin()
    if resumed:
        log.info("resuming %s from iteration %d", out, start)

    status, error, final = "completed", None, {}
    # The logger shows the hyperparameters, pictures, final metrics and status (a raise in here: "failed").
    with dashboard.Record(trainer.logger, cfg) as logged:
        try:
            trainer.fit(module, train_dataloaders=stream, ckpt_path=ckpt_path, weights_only=True)
        except Diverged as exc:
            status, error = "diverged", str(exc)
        spent = record.times(periodic.seconds)  # before the final evaluation: training's time
        if status == "completed":
            final = evaluation(module, out / "samples" / "final.png")
        logged.finish(status, final, module.iteration)
    return record.finish(status, error, module.iteration, spent["train_time_s"], first_step.at, final,
                         evaluation.protocol)


def evaluation_for(cfg: DictConfig, data, device):
    # Inside fork_rng: the ranks of a DDP run keep identical RNG streams, and only rank 0 builds an evaluation.
    with torch.random.fork_rng(devices=[]):
        return build_evaluation(cfg.metrics, data, device)


def _evaluate_again(folder: Folder) -> float:
    """A finished run asked for another evaluation protocol: its final weights, and what training recorded beside
    them (a game's trajectory), evaluated the new way; config.yaml then says how it was evaluated."""
    cfg, out, previous = folder.cfg, folder.out, folder.previous
    log.info("%s: evaluating the finished run again with the new metrics settings", out)
    checkpoint = read_checkpoint(folder.checkpoint)
    identity.check_checkpoint(cfg, out, checkpoint.get("identity"), folder.now)
    data = instantiate(cfg.data.source)
    module = build_module(cfg, data)
    module.load_state_dict(checkpoint["state_dict"])
    module.iteration = previous["step"]
    module.training_data(data)  # what a variant keeps of the data for its evaluation (held-out digits, G's inputs)
    evaluation = evaluation_for(cfg, data, torch.device("cpu"))
    restore_recorded(getattr(evaluation, "callbacks", []), checkpoint, module)
    final = evaluation(module, out / "samples" / "final.png")
    result = {**previous, **folder.now, "objective": cfg.objective,
              "metrics": {"final": final, "best": results.best([], final, cfg.objective),
                          "protocol": evaluation.protocol}}
    folder.save_config()
    results.write(out / "metrics.json", result)
    return objective_value(result, cfg.objective)
