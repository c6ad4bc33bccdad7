"""Train runs that differ only in their seed as one ensemble (module.py), and leave each member's folder as run.py
leaves a run's: config.yaml, metrics.json (running, then completed or diverged, with its evaluations), its pictures,
its logger's files, and checkpoints/last.ckpt as its seed alone would have written it (checkpoints.py). A sweep's
jobs then find their runs completed and return them as recorded, so gan-report, Optuna and sweep resume see no
difference; a member already completed is left alone, and an ensemble killed and started again resumes every member
from its checkpoint.

What a member's folder records differently: its logger gets the losses, adversarial terms and W1 estimate per logged
iteration (not each penalty term), times are the ensemble's (`ensemble` in metrics.json names its seeds; `job`, the
ensemble's process), and the job's console log is the ensemble's process's.
"""
import contextlib
import logging
import os
import socket
import tempfile
import time
from pathlib import Path

import hydra.utils
import torch
from omegaconf import DictConfig

from gan_runner import dashboard
from gan_runner.build import build_module, build_trainer, instantiate
from gan_runner.callbacks import FirstStepTime
from gan_runner.checkpoint import read as read_checkpoint
from gan_runner.claim import claim
from gan_runner.csv_logger import ResumableCSVLogger
from gan_runner.data.stream import BatchStream
from gan_runner.ensemble import checkpoints
from gan_runner.ensemble.callback import MemberOutputs
from gan_runner.ensemble.stream import EnsembleStream
from gan_runner.ensemble.support import unsupported
from gan_runner.errors import UserError
from gan_runner.modules.gan import Diverged
from gan_runner.run import evaluation_for
from gan_runner.run_folder import Folder, RunRecord
from gan_runner.sweep.job import process_started_at
from gan_runner.validate import validate

log = logging.getLogger("gan_runner")


class Member:
    """One member's side of the ensemble: its folder and record, its logger, and a plain module of its configuration
    that takes its weights to be evaluated and checkpointed."""

    def __init__(self, folder: Folder, data, seeds: list[int], job: dict):
        self.folder, self.cfg, self.out = folder, folder.cfg, folder.out
        self.record = RunRecord(folder, ensemble={"seeds": seeds}, job=job)
        self.logger = hydra.utils.instantiate(self.cfg.logger)
        if isinstance(self.logger, ResumableCSVLogger):
            self.logger.resumed_at = folder.start
        self.plain = build_module(self.cfg, data)
        self.plain.outside_logger = self.logger  # its evaluations' pictures go to the member's logger


def train_together(cfgs: list[DictConfig]) -> str | None:
    """Trains the members that are not completed yet; returns, in one line, why they cannot train together (then
    each runs alone, as without the ensemble)."""
    reason = unsupported(cfgs[0])
    if reason:
        return reason
    unique = {}
    for cfg in cfgs:
        unique.setdefault(cfg.output_dir, cfg)  # a seed given twice is one job folder: it trains once
    cfgs = list(unique.values())
    try:
        with contextlib.ExitStack() as held:
            for cfg in cfgs:
                validate(cfg)
                held.enter_context(claim(Path(cfg.output_dir)))
            folders = [f for f in (Folder(cfg, Path(cfg.output_dir)) for cfg in cfgs) if not f.finished]
            if len({f.start for f in folders}) > 1:
                return f"the members' checkpoints stand at iterations {sorted({f.start for f in folders})}"
            if len(folders) > 1:
                _train(folders)
    except (UserError, ValueError) as exc:  # a folder or a net the ensemble cannot take: each job says why alone
        return str(exc).splitlines()[0]
    except Exception as exc:  # noqa: BLE001 (anything else, out of memory included: each job runs, resumes, records)
        log.exception("the ensemble failed")
        return f"the ensemble failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
    return None


def _train(folders: list[Folder]) -> None:
    cfg, start, total = folders[0].cfg, folders[0].start, folders[0].total
    seeds = [f.cfg.seed for f in folders]
    data = instantiate(cfg.data.source)
    module = build_module(cfg, data, ensemble_seeds=seeds)  # a net without a stacked form: ValueError, nothing written
    # The process that trained it, as a sweep job's record names its own (sweep/job.py); ended_at: training's end
    job = {"pid": os.getpid(), "host": socket.gethostname(), "process_started_at": process_started_at(),
           "started_at": time.time(), "threads": torch.get_num_threads()}
    members = [Member(f, data, seeds, job) for f in folders]
    stream = EnsembleStream([BatchStream(module.training_data(data), cfg.data.batch_size, module.n_critic, total, seed,
                                         start=start, sampler=cfg.data.get("sampler", "epoch")) for seed in seeds])
    first_step = FirstStepTime()
    trainer = build_trainer(cfg, folders[0].out, [first_step], with_logger=False)
    evaluation = evaluation_for(cfg, data, trainer.strategy.root_device)  # one for all: the members share its inputs
    outputs = MemberOutputs(members, evaluation, cfg.metrics.every_n_steps, cfg.checkpoint_every_n_steps, total)
    trainer.callbacks.append(outputs)
    log.info("training seeds %s together as one ensemble%s", ",".join(map(str, seeds)),
             f", resumed from iteration {start}" if start else "")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as logged:
        resume_from = None
        if start:
            resume_from = Path(tmp) / "ensemble.ckpt"
            joined = checkpoints.join([read_checkpoint(f.checkpoint) for f in folders], module,
                                      [m.plain for m in members], trainer.strategy.root_device)
            torch.save(joined, resume_from)
        records = [logged.enter_context(dashboard.Record(m.logger, m.cfg)) for m in members]
        for m in members:
            m.record.begin()
        try:
            trainer.fit(module, train_dataloaders=stream, ckpt_path=resume_from, weights_only=True)
        except Diverged:
            pass  # every member diverged: each records it below
        spent = members[0].record.times(outputs.seconds)["train_time_s"]
        job["ended_at"] = time.time()
        for k, (m, logger_record) in enumerate(zip(members, records)):
            _finish(k, m, logger_record, module, outputs, spent, first_step.at)
    log.info("ensemble of seeds %s done (%d process)", ",".join(map(str, seeds)), os.getpid())


def _finish(k: int, member: Member, logger_record, module, outputs: MemberOutputs, spent: float, first_step_at):
    diverged_at = module.diverged.get(k)
    status = "completed" if diverged_at is None else "diverged"
    step = module.iteration if diverged_at is None else diverged_at
    final, error = {}, None
    if diverged_at is None:
        final = outputs.evaluation(module.copy_member(k, member.plain), member.out / "samples" / "final.png")
    else:
        error = f"member {k}'s weights became non-finite by iteration {diverged_at}"
    logger_record.finish(status, final, step)
    member.record.finish(status, error, step, spent, first_step_at, final, outputs.evaluation.protocol)
