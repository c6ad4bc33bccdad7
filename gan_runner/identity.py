"""A run's identity: a folder's results are returned, resumed or extended only for the same configuration and data.

Three parts, recorded in metrics.json and in the checkpoint alike (`of`: the hashes under config_hash, the data under
data):
- training: a hash of every resolved key that changes the trained weights. Not in it: trainer.max_steps (a run may
  be extended), trainer.accelerator, output_dir, the sweep settings, the evaluation keys below, and OPERATIONAL;
- data: what an image folder (data=folder) holds, known without decoding: its image count and a hash of its files'
  relative paths, sizes and modification times. The other sources are fixed files or drawn from the config (null);
- evaluation: a hash of `metrics` and `objective`, less OPERATIONAL. A finished run asked for another evaluation is
  evaluated again.
Horizons that follow trainer.max_steps (optimizer.lr_decay_steps, constraint.noise.anneal_steps) resolve to numbers
and belong to the training part: extending such a run needs them pinned to the first run's value.
"""
import hashlib
import json
from pathlib import Path

import hydra.utils
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gan_runner.errors import FolderRefused

# Keys that change only how and where a run reports or caches, or how long its ranks wait for each other, never a
# number: in no part of the identity, and not in a sweep job's folder name (sweep/resolvers.py).
OPERATIONAL = ("logger", "checkpoint_every_n_steps", "trainer.enable_progress_bar", "trainer.enable_model_summary",
               "trainer.log_every_n_steps", "trainer.ddp_timeout_s", "sweep.continue_on_failure",
               "data.source.cache_dir", "metrics.cache_dir")
EVALUATION = ("metrics", "objective")
NOT_TRAINING = ("trainer.max_steps", "trainer.accelerator", "output_dir", "sweep", *OPERATIONAL, *EVALUATION)
OTHER_FOLDER = "choose another hydra.run.dir"


def _flat(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


def matches(key: str, prefixes: tuple[str, ...]) -> bool:
    """Whether `key` is one of `prefixes` or lies under one (`logger.project` under `logger`)."""
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _keep(flat: dict, prefixes: tuple[str, ...], inside: bool) -> dict:
    return {k: v for k, v in flat.items() if matches(k, prefixes) == inside}


# Keys added after runs were recorded, with the value that trains as those runs did: at that value they are left out,
# so that a folder recorded before them is still the same configuration.
NEUTRAL = {"model.pack": 1, "data.sampler": "epoch", "optimizer.g_steps": 1, "model.z_prior": "normal",
           "variant.feature_matching": False, "model.minibatch_discrimination": False, "model.minibatch_kernels": 100,
           "model.minibatch_dims": 5, "model.self_mod": False, "model.virtual_batch_norm": False,
           "model.vbn_reference": 64, "variant.g_labels": "input"}


def _inactive(flat: dict) -> tuple[str, ...]:
    """Keys that change nothing in this configuration: a decay horizon without decay, a later key at its neutral
    value."""
    decay = ("optimizer.lr_decay_steps",) if flat.get("optimizer.lr_decay") == "none" else ()
    return decay + tuple(key for key, value in NEUTRAL.items() if key in flat and flat[key] == value)


def parts(cfg: DictConfig) -> tuple[dict, dict]:
    """(training keys, evaluation keys) of the resolved configuration, flattened."""
    flat = _flat(OmegaConf.to_container(cfg, resolve=True))
    evaluation = _keep(_keep(flat, EVALUATION, inside=True), OPERATIONAL, inside=False)
    return _keep(flat, NOT_TRAINING + _inactive(flat), inside=False), evaluation


def digest(flat: dict) -> str:
    return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:16]


def hashes(cfg: DictConfig) -> dict[str, str]:
    training, evaluation = parts(cfg)
    return {"training": digest(training), "evaluation": digest(evaluation)}


def data_content(cfg: DictConfig) -> dict | None:
    """The data's contents as its source function describes them (its `content` attribute), None for sources
    without one."""
    source = cfg.data.get("source")
    describe = getattr(hydra.utils.get_method(source._target_), "content", None) if source else None
    if describe is None:
        return None
    args = OmegaConf.to_container(source, resolve=True)
    args.pop("_target_")
    return describe(args)


def of(cfg: DictConfig) -> dict:
    """The run's identity as metrics.json and the checkpoint record it: {config_hash: hashes, data: data_content}."""
    return {"config_hash": hashes(cfg), "data": data_content(cfg)}


def saved_config(out: Path) -> DictConfig | None:
    """The run's config.yaml; None when it is missing or cannot be read (cut short: the checkpoint and metrics.json
    carry the identity too)."""
    try:
        saved = OmegaConf.load(out / "config.yaml")
        OmegaConf.to_container(saved, resolve=True)
        return saved
    except (OSError, ValueError, yaml.YAMLError, OmegaConfBaseException):
        return None


def check_recorded(cfg: DictConfig, out: Path, previous: dict, now: dict) -> None:
    """Refuse a folder whose metrics.json or config.yaml (the one left when metrics.json is gone) records another
    training configuration, or whose metrics.json records other data."""
    recorded = previous.get("config_hash", {}).get("training")
    if recorded is None:  # metrics.json gone: config.yaml speaks for the run (when it can be read)
        saved = saved_config(out)
        recorded = saved and hashes(saved)["training"]
    if recorded and not _same_training(recorded, out, now):
        _refuse_other_training(cfg, out, "its metrics.json or config.yaml")
    _check_data(previous.get("data"), now["data"], out)


def check_checkpoint(cfg: DictConfig, out: Path, recorded: dict | None, now: dict) -> None:
    """Refuse to resume a checkpoint of another training configuration or other data (a checkpoint written before
    checkpoints carried their identity passes)."""
    if recorded is None:
        return
    # {"training": hash, "data": ...} in the checkpoints of the first versions that recorded an identity
    training = recorded.get("config_hash", recorded).get("training")
    if training is not None and not _same_training(training, out, now):
        _refuse_other_training(cfg, out, "its checkpoint")
    _check_data(recorded.get("data"), now["data"], out)


def _same_training(recorded: str, out: Path, now: dict) -> bool:
    """Whether a recorded training hash is this configuration's. A hash written under an older version's rules (a
    key since found to change no number, such as the logger) differs although the training does not: then the
    folder's config.yaml, hashed under today's rules, decides."""
    if recorded == now["config_hash"]["training"]:
        return True
    saved = saved_config(out)
    return saved is not None and hashes(saved)["training"] == now["config_hash"]["training"]


def _refuse_other_training(cfg: DictConfig, out: Path, where: str) -> None:
    """Name the first key that differs from config.yaml, and what to do."""
    before = saved_config(out)
    old, new = parts(before)[0] if before else {}, parts(cfg)[0]
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k, "<unset>") != new.get(k, "<unset>"))
    start = f"{out} holds a run of another configuration"
    if before is None or not changed:
        raise FolderRefused(f"{start} (so says {where}; its config.yaml is missing or edited): {OTHER_FOLDER}")
    key = changed[0]
    more = f" (and {len(changed) - 1} more key{'s' * (len(changed) > 2)})" if len(changed) > 1 else ""
    hint = f"{OTHER_FOLDER} for the new configuration"
    if new.get(key) == cfg.trainer.max_steps and old.get(key) == before.trainer.max_steps:
        hint = (f"{key} follows trainer.max_steps; to extend the run with its first horizon pass {key}={old.get(key)}, "
                f"or {hint}")
    raise FolderRefused(f"{start}: {key}={old.get(key, '<unset>')} there, {new.get(key, '<unset>')} now{more}; {hint}")


def _check_data(recorded: dict | None, now: dict | None, out: Path) -> None:
    if recorded is None or now is None or recorded == now:
        return  # a run from before data was recorded, or a source without contents to compare
    if recorded["images"] != now["images"]:
        change = f"{recorded['images']} images then, {now['images']} now"
    else:
        change = f"the same count, {now['images']}, but files renamed, replaced or modified"
    raise FolderRefused(f"the images in data.root={now['root']} changed since {out} trained on them ({change}): "
                        f"restore them to go on with that run, or {OTHER_FOLDER} for a run on the new images")
