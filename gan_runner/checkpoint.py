"""Find and vet the checkpoint a run resumes from; checkpoints are untrusted files, loaded with weights_only."""
import os
from pathlib import Path

import torch

from gan_runner.errors import UserError


def last_checkpoint(output_dir: Path) -> Path:
    return output_dir / "checkpoints" / "last.ckpt"


def load_weights(module: torch.nn.Module, path: Path) -> None:
    """A checkpoint's weights into `module` (its state_dict only, read with weights_only)."""
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])


def read(path: Path) -> dict:
    """The whole checkpoint, read with weights_only; a one-line UserError when it is unreadable or not ours."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(checkpoint, dict) or "gan_runner" not in checkpoint:
            raise ValueError("not a gan-runner checkpoint")
    except Exception as exc:  # any unreadable or foreign file gets the same one-line answer
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise UserError(f"checkpoint {path} cannot be resumed ({reason}): delete it to start over, "
                        "or point hydra.run.dir at another folder") from None
    return checkpoint


def read_resumable(path: Path) -> dict | None:
    """The checkpoint's gan-runner state ({'iteration', 'rng'}) and the identity of the run that wrote it
    ('identity', None in checkpoints older than it); None when there is no checkpoint."""
    if not path.exists():
        return None
    checkpoint = read(path)
    return {**checkpoint["gan_runner"], "identity": checkpoint.get("identity")}


def save_atomic(trainer, path: Path) -> None:
    """Write through a temporary file so that a crash mid-save never leaves a truncated last.ckpt.

    Every rank calls it (Lightning's save waits for all of them); rank 0 alone writes and renames the file.
    """
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")  # per process: never another writer's half-written file
    if trainer.is_global_zero:
        path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(tmp, weights_only=False)
    if trainer.is_global_zero:
        os.replace(tmp, path)
