"""What the loggers show: a run's hyperparameters, its pictures, its final metrics and its status.

The one module that knows the logger types (CSV, TensorBoard, wandb); the rest of the runner hands it plain values.
It works when a run starts, at each evaluation and when the run ends, never per training step.

Steps are Lightning's: the losses of iteration k are logged at step k - 1 (its count of finished batches), so a
picture, and the final metrics, go to the step of their iteration's losses and `eval/*` scalars.
"""
import logging
from pathlib import Path

import numpy as np
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("gan_runner")
CONF = Path(__file__).parent / "conf"
GROUPS = ("model", "loss", "constraint", "optimizer", "data", "variant")
SETTINGS = ("seed", "trainer.max_steps", "metrics.extractor", "metrics.num_samples")


def hyperparameters(cfg: DictConfig) -> dict[str, str | int | float | bool]:
    """The resolved config as flat, readable, plain values: the option of each group (`loss: hinge`,
    `constraint: [sn,gp]`), that option's settings (`optimizer.lr_d`, `constraint.gp.weight`, `model.width`), the
    preset of a command-line run (`experiment`) and the run's own settings (`seed`, `trainer.max_steps`, ...)."""
    from hydra.core.hydra_config import HydraConfig

    params = {}
    if HydraConfig.initialized() and HydraConfig.get().runtime.choices.get("experiment"):
        params["experiment"] = HydraConfig.get().runtime.choices["experiment"]
    for group in GROUPS:
        if cfg.get(group) is None and group != "constraint":  # no variant: the base GAN
            continue
        node = OmegaConf.to_container(cfg[group], resolve=True) if cfg[group] is not None else {}
        if group == "constraint":  # a multi-select group: one entry per constraint, in the order given
            names = list(node) or ["none"]
            params[group] = names[0] if len(names) == 1 else f"[{','.join(names)}]"
            for name, member in node.items():
                params.update(_leaves(member, f"{group}.{name}"))
        else:
            params[group] = _option(group, node)
            params.update(_leaves(node, group))
    for key in SETTINGS:
        if OmegaConf.select(cfg, key) is not None:
            params[key] = OmegaConf.select(cfg, key)
    return params


def _option(group: str, node: dict) -> str:
    """The option chosen in a group: its `name`, else the option file with the same `_target_` (the loss files
    carry no name: it would reach the loss's constructor), else the target's class name."""
    if "name" in node:
        return str(node["name"])
    target = node.get("_target_")
    for option in sorted((CONF / group).glob("*.yaml")):
        if target and OmegaConf.load(option).get("_target_") == target:
            return option.stem
    return str(target).rsplit(".", 1)[-1]


def _leaves(node: dict, prefix: str) -> dict:
    """Plain values under `node` by dotted path; lists as text; `name`, `_target_` and the pieces built from their
    own `_target_` (model.generator, data.source: the group's values again) left out."""
    params = {}
    for key, value in node.items():
        path = f"{prefix}.{key}"
        if key == "name" or key.startswith("_") or value is None:
            continue
        if isinstance(value, dict):
            if "_target_" not in value:
                params.update(_leaves(value, path))
        else:
            params[path] = str(value) if isinstance(value, (list, tuple)) else value
    return params


def step(iteration: int) -> int:
    """Lightning's step of an iteration's values."""
    return max(iteration - 1, 0)


def log_evaluation(logger: Logger | None, result: dict, iteration: int) -> None:
    """A periodic evaluation's metrics as `eval/*` scalars, once, at the step of its iteration's losses (through
    the module's `log`, Lightning would repeat them on every later row of the CSV log)."""
    if logger is not None:
        logger.log_metrics({f"eval/{k}": float(v) for k, v in result.items()}, step(iteration))


def log_samples(logger: Logger | None, picture: np.ndarray, iteration: int, name: str = "samples") -> None:
    """A picture of the generator's samples (H x W x 3 uint8: the pixels of the PNG written beside it); a variant's
    further pictures (InfoGAN's latent traversal) by their own name."""
    _writer(logger).image(name, picture, step(iteration))


class Record:
    """`with Record(logger, cfg) as record:` logs the hyperparameters; `record.finish(...)` the outcome.

    If the block raises, the run is recorded as failed while the logger is still open; the logger is closed
    either way (joblib reuses workers: an open wandb run would leak into the next job, DESIGN.md pitfall 2).
    """

    def __init__(self, logger: Logger | None, cfg: DictConfig):
        self.writer, self.params, self.finished = _writer(logger), hyperparameters(cfg), False

    def __enter__(self) -> "Record":
        self.writer.start(self.params)
        return self

    def finish(self, status: str, final: dict[str, float], iteration: int) -> None:
        self.writer.end(self.params, {f"final/{k}": float(v) for k, v in final.items()}, status, step(iteration))
        self.finished = True

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None and issubclass(exc_type, Exception) and not self.finished:
                try:
                    self.finish("failed", {}, 0)
                except Exception as record_error:  # the run's own error is the one to report
                    log.warning("could not record the failure in the logger: %s", record_error)
        finally:
            self.writer.close(failed=exc_type is not None)


class _Writer:
    """A logger's side of each record; this base writes nothing (no logger, or one this module does not know)."""

    def __init__(self, logger: Logger | None):
        self.logger = logger

    def start(self, params: dict) -> None:
        pass

    def image(self, name: str, picture: np.ndarray, step: int) -> None:
        pass

    def end(self, params: dict, final: dict, status: str, step: int) -> None:
        pass

    def close(self, failed: bool) -> None:
        pass


class _Csv(_Writer):
    """hparams.yaml and a last row of metrics.csv; pictures stay the PNG files of the run folder."""

    def start(self, params):
        self.logger.log_hyperparams(params)

    def end(self, params, final, status, step):
        if final:
            self.logger.log_metrics(final, step)

    def close(self, failed):
        self.logger.finalize("failed" if failed else "success")  # writes what log_metrics buffered


class _TensorBoard(_Csv):
    """hparams.yaml, images, final scalars, and the run as an HParams session with its status.

    The session is written at the end: its `status` is then known and shown beside the hyperparameters. No
    experiment summary is written: TensorBoard then builds the HParams table from the sessions of all runs under
    its logdir (every key any run has, every scalar as a metric) instead of taking one arbitrary run's keys.
    """

    def start(self, params):
        self.logger.log_hyperparams(params, metrics={})  # {}: no `hp_metric` placeholder, no session yet

    def image(self, name, picture, step):
        self.logger.experiment.add_image(name, picture, step, dataformats="HWC")

    def end(self, params, final, status, step):
        from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
        from torch.utils.tensorboard.summary import hparams

        super().end(params, final, status, step)
        _, session_start, session_end = hparams({**params, "status": status}, final)
        content = session_end.value[0].metadata.plugin_data
        data = plugin_data_pb2.HParamsPluginData.FromString(content.content)  # torch always says "success"
        data.session_end_info.status = api_pb2.STATUS_SUCCESS if status == "completed" else api_pb2.STATUS_FAILURE
        content.content = data.SerializeToString()
        writer = self.logger.experiment._get_file_writer()  # as Lightning's own log_hyperparams writes them
        writer.add_summary(session_start, step)
        writer.add_summary(session_end, step)


class _Wandb(_Writer):
    """The run's config, images, final metrics in the run summary, and the status as a summary field and a tag."""

    def start(self, params):
        self.logger.log_hyperparams(params)

    def image(self, name, picture, step):
        self.logger.log_image(name, [picture], step=step)

    def end(self, params, final, status, step):
        if final:
            self.logger.log_metrics(final, step)
        run = self.logger.experiment
        run.summary["status"] = status
        run.tags = (*(run.tags or ()), status)

    def close(self, failed):
        import wandb

        wandb.finish(exit_code=int(failed))


def _writer(logger: Logger | None) -> _Writer:
    for cls, writer in ((TensorBoardLogger, _TensorBoard), (CSVLogger, _Csv), (WandbLogger, _Wandb)):
        if isinstance(logger, cls):
            return writer(logger)
    return _Writer(logger)
