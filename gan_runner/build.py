"""Instantiate the pieces of a run from its composed config: the LightningModule and the Trainer."""
from functools import partial
from pathlib import Path

import hydra.errors
import hydra.utils
import lightning.pytorch as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, OmegaConf

from gan_runner import hardware
from gan_runner.constraints import Constraints
from gan_runner.ddp import HandSyncedDDP
from gan_runner.ensemble.module import ensemble_of
from gan_runner.errors import UserError
from gan_runner.nets import minibatch, selfmod
from gan_runner.nets.packing import packed_shape
from gan_runner.sync_batchnorm import GlobalBatchNorm

DEFAULT_VARIANT = {"_target_": "gan_runner.modules.gan.GAN"}


def instantiate(node):
    """hydra.utils.instantiate that lets the target's own UserError through unwrapped (one line, no traceback)."""
    try:
        return hydra.utils.instantiate(node)
    except hydra.errors.InstantiationException as exc:
        if isinstance(exc.__cause__, UserError):
            raise exc.__cause__ from None
        raise


def build_module(cfg: DictConfig, data, ensemble_seeds: list[int] | None = None) -> L.LightningModule:
    """The run's module; with `ensemble_seeds`, one module training those seeds of the configuration together
    (ensemble/module.py)."""
    constraints = Constraints(hydra.utils.instantiate(node) for node in (cfg.constraint or {}).values()
                              if node and "_target_" in node)
    variant = OmegaConf.to_container(cfg.variant, resolve=True) if "variant" in cfg else dict(DEFAULT_VARIANT)
    module_cls = hydra.utils.get_class(variant.pop("_target_"))
    variant.pop("name", None)
    if ensemble_seeds is not None:
        module_cls, variant = ensemble_of(module_cls), {**variant, "seeds": ensemble_seeds}
    discriminator = hydra.utils.instantiate(cfg.model.discriminator, _partial_=True)
    pack = cfg.model.get("pack", 1)
    if pack > 1:  # D built for packs of `pack` samples (nets/packing.py)
        flat = getattr(discriminator.func, "flat_input", False)
        discriminator = partial(discriminator, shape=packed_shape(list(cfg.data.shape), pack, flat))
    generator = hydra.utils.instantiate(cfg.model.generator, _partial_=True)
    if cfg.model.get("self_mod", False):
        generator = selfmod.self_modulated(generator)
    if cfg.model.get("minibatch_discrimination", False):
        discriminator = minibatch.discriminating(discriminator, cfg.model.minibatch_kernels, cfg.model.minibatch_dims)
    return module_cls(
        generator=generator,
        discriminator=discriminator,
        pack=pack,
        loss=hydra.utils.instantiate(cfg.loss),
        constraints=constraints,
        optimizer=OmegaConf.to_container(cfg.optimizer, resolve=True),
        z_dim=cfg.model.z_dim,
        num_classes=data.num_classes,
        total_steps=cfg.trainer.max_steps,
        init=cfg.model.get("init", "torch"),
        z_prior=cfg.model.get("z_prior", "normal"),
        virtual_batch=cfg.model.get("vbn_reference", 64) if cfg.model.get("virtual_batch_norm", False) else 0,
        **variant,
    )


def build_trainer(cfg: DictConfig, out: Path, callbacks: list, with_logger: bool = True) -> L.Trainer:
    """The Trainer of `cfg`; `with_logger=False` for an ensemble, whose members have loggers of their own."""
    kwargs = OmegaConf.to_container(cfg.trainer, resolve=True)
    kwargs.pop("max_steps")  # counted in generator iterations by the batch stream instead
    timeout_s, sync_batchnorm = kwargs.pop("ddp_timeout_s"), kwargs.pop("sync_batchnorm")
    plugins = list(kwargs.pop("plugins", None) or [])
    if kwargs.get("enable_progress_bar", True):
        # One refresh per logging interval: a log file or a CI console gets a line per refresh, not per step.
        callbacks = [*callbacks, TQDMProgressBar(refresh_rate=kwargs.get("log_every_n_steps", 50))]
    if SLURMEnvironment.detect() and not plugins:
        # submitit requeues on USR2 and the job resumes from last.ckpt; Lightning's own requeue (USR1) and its SIGTERM
        # handling would compete with it (DESIGN.md pitfall 3).
        plugins.append(SLURMEnvironment(auto_requeue=False))
    if hardware.world_size(cfg.trainer) > 1:
        # The other ranks start from the config.yaml that rank 0 writes into the run's folder (see ddp.py).
        kwargs["strategy"] = HandSyncedDDP(config_path=str(out / "config.yaml"), timeout_s=timeout_s)
        if sync_batchnorm:
            plugins.append(GlobalBatchNorm())  # not torch's SyncBatchNorm (Lightning's): it runs on GPUs only
    elif kwargs.get("strategy") == "ddp":
        kwargs["strategy"] = "auto"  # one device: nothing to synchronize
    logger = hydra.utils.instantiate(cfg.logger) if with_logger else False
    return L.Trainer(max_epochs=1, max_steps=-1, logger=logger, callbacks=callbacks, default_root_dir=out,
                     enable_checkpointing=False, num_sanity_val_steps=0, plugins=plugins or None, **kwargs)
