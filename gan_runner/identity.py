"""A run's identity is its configuration: a folder's results are returned, resumed or extended only for the same one.

Two parts of the resolved configuration are hashed into metrics.json:
- training: everything that changes the trained weights. Not in it: trainer.max_steps (a run may be extended), the
  evaluation keys below, and keys that only change where and how a run reports (output_dir, logger, sweep,
  checkpoint_every_n_steps, the progress bar, the logging interval, the accelerator, the DDP timeout, where decoded
  images are cached);
- evaluation: `metrics` and `objective`. A finished run asked for another evaluation is evaluated again.
Horizons that follow trainer.max_steps (optimizer.lr_decay_steps, constraint.noise.anneal_steps) resolve to numbers
and belong to the training part: extending such a run needs them pinned to the first run's value.
"""
import hashlib
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gan_runner.errors import UserError

EVALUATION = ("metrics", "objective")
NOT_TRAINING = ("trainer.max_steps", "output_dir", "logger", "sweep", "checkpoint_every_n_steps",
                "trainer.enable_progress_bar", "trainer.enable_model_summary", "trainer.log_every_n_steps",
                "trainer.accelerator", "trainer.ddp_timeout_s", "data.source.cache_dir", *EVALUATION)


def _flat(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


def _keep(flat: dict, prefixes: tuple[str, ...], inside: bool) -> dict:
    def matches(key):
        return any(key == p or key.startswith(p + ".") for p in prefixes)

    return {k: v for k, v in flat.items() if matches(k) == inside}


def _inactive(flat: dict) -> tuple[str, ...]:
    """Keys that change nothing in this configuration: a decay horizon without decay."""
    return ("optimizer.lr_decay_steps",) if flat.get("optimizer.lr_decay") == "none" else ()


def parts(cfg: DictConfig) -> tuple[dict, dict]:
    """(training keys, evaluation keys) of the resolved configuration, flattened."""
    flat = _flat(OmegaConf.to_container(cfg, resolve=True))
    return _keep(flat, NOT_TRAINING + _inactive(flat), inside=False), _keep(flat, EVALUATION, inside=True)


def digest(flat: dict) -> str:
    return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:16]


def hashes(cfg: DictConfig) -> dict[str, str]:
    training, evaluation = parts(cfg)
    return {"training": digest(training), "evaluation": digest(evaluation)}


def check_same_training(cfg: DictConfig, previous: dict, out: Path) -> None:
    """Refuse to return, resume or extend a run of another configuration; say which key differs and what to do."""
    recorded = previous.get("config_hash", {}).get("training")
    if recorded is None or recorded == hashes(cfg)["training"]:
        return
    saved = out / "config.yaml"
    old = parts(OmegaConf.load(saved))[0] if saved.exists() else {}
    new = parts(cfg)[0]
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k, "<unset>") != new.get(k, "<unset>"))
    where = f"{out} holds a run of another configuration"
    if not changed:
        raise UserError(f"{where} (its config.yaml is missing or edited): choose another hydra.run.dir")
    key = changed[0]
    more = f" (and {len(changed) - 1} more key{'s' * (len(changed) > 2)})" if len(changed) > 1 else ""
    hint = "choose another hydra.run.dir for the new configuration"
    if new.get(key) == cfg.trainer.max_steps and old.get(key) == previous.get("max_steps"):
        hint = (f"{key} follows trainer.max_steps; to extend the run with its first horizon pass {key}={old.get(key)}, "
                f"or {hint}")
    raise UserError(f"{where}: {key}={old.get(key, '<unset>')} there, {new.get(key, '<unset>')} now{more}; {hint}")
