"""Checks of a composed config, run once before any work: each failure is one line naming the problem and the fix."""
import netrc
import os
from urllib.parse import urlparse

import hydra.utils
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf

from gan_runner import hardware
from gan_runner.checks import check_components
from gan_runner.data.stream import SAMPLERS
from gan_runner.errors import UserError
from gan_runner.metrics import directions, spaces
from gan_runner.nets.init import INITS

# key -> (type, lower bound or None, strictly greater?)
_NUMBERS = {
    "seed": (int, 0, False),
    "trainer.max_steps": (int, 0, True),
    "data.batch_size": (int, 0, True),
    "optimizer.lr_g": (float, 0.0, True),
    "optimizer.lr_d": (float, 0.0, True),
    "optimizer.n_critic": (int, 0, True),
    "optimizer.g_steps": (int, 0, True),
    "optimizer.ema_decay": (float, 0.0, False),
    "optimizer.historical_averaging": (float, 0.0, False),
    "optimizer.consensus": (float, 0.0, False),
    "optimizer.lr_decay_steps": (int, 0, True),
    "metrics.num_samples": (int, 1, False),
    "metrics.every_n_steps": (int, 0, False),
    "checkpoint_every_n_steps": (int, 0, True),
}


def _number(cfg: DictConfig, key: str, kind: type, low, strict: bool) -> None:
    value = OmegaConf.select(cfg, key)
    ok_type = isinstance(value, int) and not isinstance(value, bool) if kind is int else (
        isinstance(value, (int, float)) and not isinstance(value, bool))
    if not ok_type:
        raise UserError(f"{key}={value!r} is not {'an integer' if kind is int else 'a number'}: pass one, e.g. {key}=1")
    if value < low or (strict and value == low):
        raise UserError(f"{key}={value} must be {'>' if strict else '>='} {low}")


def constraint_classes(cfg: DictConfig) -> dict[str, type]:
    classes = {}
    for name, node in (cfg.constraint or {}).items():
        if node and "_target_" in node:
            classes[name] = hydra.utils.get_class(node._target_)
    return classes


def missing_keys(node, prefix: str = "") -> list[str]:
    """Keys set to ??? (without resolving interpolations, which may point at Hydra's runtime)."""
    found = []
    for key in node:
        path = f"{prefix}{key}"
        if OmegaConf.is_missing(node, key):
            found.append(path)
        elif not OmegaConf.is_interpolation(node, key) and isinstance(node[key], DictConfig):
            found += missing_keys(node[key], path + ".")
    return found


def instantiable(cfg: DictConfig) -> None:
    """Build the loss and constraints once: their own argument checks (e.g. loss.real_label) run here."""
    for key, node in [("loss", cfg.loss), *((f"constraint.{k}", v) for k, v in (cfg.constraint or {}).items())]:
        if node and "_target_" in node:
            try:
                hydra.utils.instantiate(node)
            except InstantiationException as exc:
                reason = str(exc.__cause__ or exc).splitlines()[0]
                raise UserError(reason if reason.startswith(key) else f"{key}: {reason}") from None


def validate(cfg: DictConfig, local_hardware: bool = True) -> None:
    """`local_hardware=False` where the jobs run on other machines (a SLURM cluster): their devices are checked
    there, when each job starts."""
    missing = missing_keys(cfg)
    if missing:
        raise UserError(f"{missing[0]} has no value: pass {missing[0]}=... on the command line")
    for key, (kind, low, strict) in _NUMBERS.items():
        _number(cfg, key, kind, low, strict)
    directions.check_objective(cfg.objective)  # best, gan-report and the sweepers need to know which way is better
    directions.check_reported(cfg.objective, cfg.data.kind, cfg.data.name, cfg.variant.name)
    _combinations(cfg)
    instantiable(cfg)
    check_components(cfg)
    if local_hardware:
        hardware.check(cfg.trainer)


def _check_wandb_credentials() -> None:
    """wandb online without an API key would stop at a login prompt, or fail after the run was built."""
    if os.environ.get("WANDB_MODE") in ("offline", "disabled", "dryrun") or os.environ.get("WANDB_API_KEY"):
        return
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        if netrc.netrc().authenticators(host):
            return
    except (OSError, netrc.NetrcParseError):
        pass
    raise UserError(f"logger.offline=false needs wandb credentials for {host}: run `wandb login` (or set "
                    "WANDB_API_KEY), or keep logger.offline=true and `wandb sync` later")


# data kinds other than images: what they are, and the model that plays them
_NOT_IMAGES = {"points": ("2-D points", "model=mlp"), "dirac": ("the Dirac-GAN's point mass at 0", "model=dirac")}


def _combinations(cfg: DictConfig) -> None:
    if cfg.optimizer.ema_decay >= 1:
        raise UserError(f"optimizer.ema_decay={cfg.optimizer.ema_decay} must be < 1 (0 turns EMA off)")
    if cfg.optimizer["update"] not in ("alternating", "simultaneous"):
        raise UserError(f"optimizer.update={cfg.optimizer['update']!r}: choose alternating or simultaneous")
    if cfg.optimizer.lr_decay not in ("none", "linear"):
        raise UserError(f"optimizer.lr_decay={cfg.optimizer.lr_decay!r}: choose none or linear")
    if cfg.optimizer["update"] == "simultaneous" and cfg.optimizer.n_critic != 1:
        raise UserError("optimizer.update=simultaneous takes one D step per G step: set optimizer.n_critic=1")
    if cfg.optimizer["update"] == "simultaneous" and cfg.optimizer.get("g_steps", 1) != 1:
        raise UserError("optimizer.update=simultaneous takes one G step per D step: set optimizer.g_steps=1")
    if cfg.optimizer.consensus > 0 and cfg.optimizer["update"] != "simultaneous":
        raise UserError(f"optimizer.consensus={cfg.optimizer.consensus} regularizes the simultaneous gradient field "
                        "(Mescheder 2017, Algorithm 1): set optimizer.update=simultaneous")
    if cfg.model.kind == "image" and cfg.data.kind != "image":
        what, use = _NOT_IMAGES[cfg.data.kind]
        raise UserError(f"model={cfg.model.name} needs images but data={cfg.data.name} is {what}: use {use}")
    if cfg.model.get("z_prior", "normal") not in ("normal", "uniform"):
        raise UserError(f"model.z_prior={cfg.model.z_prior!r}: choose normal or uniform")
    if cfg.model.get("z_prior", "normal") != "normal" and cfg.variant.name == "infogan":
        raise UserError("variant=infogan draws its noise itself: set variant.noise=uniform instead of model.z_prior")
    init = cfg.model.get("init", "torch")
    if init not in INITS:
        raise UserError(f"model.init={init!r}: choose {' or '.join(INITS)}")
    if init == "normal" and "weight" in (cfg.model.get("d_norm"), cfg.model.get("g_norm")):
        raise UserError("model.init=normal draws the weights that weight norm reparametrizes: set model.init=torch")
    _packing(cfg)
    if cfg.data.get("sampler", "epoch") not in SAMPLERS:
        raise UserError(f"data.sampler={cfg.data.sampler!r}: choose {' or '.join(SAMPLERS)} (epoch: every sample once "
                        "per epoch, reshuffled; replacement: i.i.d. draws)")
    if cfg.model.d_norm == "batch":
        refuse_sample_mixing(cfg, "BatchNorm in D", " (WGAN-GP, sec. 4): set model.d_norm=layer (or none)")
    if cfg.model.get("minibatch_discrimination", False):
        _minibatch(cfg)
    _g_batchnorm_replacement(cfg)
    if not isinstance(cfg.variant.get("feature_matching", False), bool):
        raise UserError(f"variant.feature_matching={cfg.variant.feature_matching!r}: choose true or false")
    if str(cfg.logger.get("_target_", "")).endswith("WandbLogger") and not cfg.logger.get("offline", False):
        _check_wandb_credentials()
    if cfg.data.name == "stacked_mnist" and (cfg.metrics.extractor, cfg.metrics.reference) != ("auto", "sample"):
        raise UserError(f"data=stacked_mnist reads each channel with mnist5k's classifier against a sample of stacks; "
                        f"metrics.extractor={cfg.metrics.extractor} metrics.reference={cfg.metrics.reference} do not "
                        "apply: leave them at auto and sample")
    if cfg.data.kind == "image":
        spaces.check(cfg)
    elif cfg.metrics.reference != "sample":
        raise UserError(f"metrics.reference={cfg.metrics.reference} is for images: 2-D points compare with a sample, "
                        "metrics.reference=sample")


def refuse_sample_mixing(cfg: DictConfig, what: str, fix: str) -> None:
    """One refusal for every part of D that mixes a batch's samples (`what`), where a constraint's per-sample input
    gradients mean nothing; `fix` follows the message."""
    penalized = [n for n, c in constraint_classes(cfg).items() if c.per_sample_gradients]
    if penalized:
        raise UserError(f"constraint {penalized[0]} needs per-sample gradients, which {what} mixes across the batch"
                        f"{fix}")


def _minibatch(cfg: DictConfig) -> None:
    for key in ("minibatch_kernels", "minibatch_dims"):
        if not isinstance(cfg.model[key], int) or cfg.model[key] < 1:
            raise UserError(f"model.{key}={cfg.model[key]!r} must be a positive integer")
    if cfg.variant.name in ("catgan", "ebgan"):
        raise UserError(f"model.minibatch_discrimination goes under D's real/fake score head, and variant="
                        f"{cfg.variant.name}'s D has none: drop it")
    refuse_sample_mixing(cfg, "minibatch discrimination", ": use sn, noise or clip, or drop "
                         "model.minibatch_discrimination")


def _g_batchnorm_replacement(cfg: DictConfig) -> None:
    """Self-modulation and virtual batch norm each replace G's BatchNorm layers: G needs some, and one replacement."""
    on = [key for key in ("self_mod", "virtual_batch_norm") if cfg.model.get(key, False)]
    if not on:
        return
    if len(on) > 1:
        raise UserError("model.self_mod=true and model.virtual_batch_norm=true both replace G's BatchNorm layers: "
                        "choose one")
    if cfg.model.get("g_norm", "batch") != "batch":
        raise UserError(f"model.{on[0]}=true replaces G's BatchNorm layers, and model.g_norm={cfg.model.g_norm} has "
                        "none: set model.g_norm=batch")
    if cfg.variant.name == "projection":
        raise UserError(f"model.{on[0]}=true and variant=projection both replace G's BatchNorm scales and shifts: "
                        "choose one")
    size = cfg.model.get("vbn_reference", 64)
    if on == ["virtual_batch_norm"] and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise UserError(f"model.vbn_reference={size!r} is not a batch size: pass an integer >= 1")


def _packing(cfg: DictConfig) -> None:
    pack = cfg.model.get("pack", 1)
    if not isinstance(pack, int) or isinstance(pack, bool) or pack < 1:
        raise UserError(f"model.pack={pack!r} is not a number of samples per pack: pass an integer >= 1 (1: off)")
    if pack == 1:
        return
    if cfg.data.batch_size % pack:
        raise UserError(f"data.batch_size={cfg.data.batch_size} is not a whole number of packs of model.pack={pack}: "
                        f"pass a multiple of {pack}, e.g. data.batch_size={cfg.data.batch_size // pack * pack or pack}")
    if cfg.variant.name != "gan":
        raise UserError(f"model.pack={pack} packs the samples of the plain GAN's D; variant={cfg.variant.name} scores "
                        "or labels each sample itself: drop model.pack, or use variant=gan")
