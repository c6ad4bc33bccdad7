"""Lightning callbacks of a run: periodic evaluation, the rolling last checkpoint, the first step's start, and the
trajectory of a small game's parameters."""
import time
from pathlib import Path

import lightning.pytorch as L
import torch

from gan_runner import dashboard
from gan_runner.checkpoint import save_atomic


class PeriodicEvaluation(L.Callback):
    """Every `every` iterations: metrics of the EMA generator, logged and kept in `history`, and a sample picture."""

    def __init__(self, evaluation, every: int, last: int, samples_dir: Path, history: list, on_result):
        self.evaluation, self.every, self.last = evaluation, every, last
        self.samples_dir, self.history, self.on_result = samples_dir, history, on_result
        self.seconds = 0.0  # spent evaluating inside training: the run's training time leaves it out

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        # The last iteration is evaluated by the run itself, on the full protocol.
        if self.every <= 0 or module.iteration % self.every or module.iteration >= self.last:
            return
        began = time.perf_counter()
        result = self.evaluation(module, self.samples_dir / f"step_{module.iteration:06d}.png")
        self.seconds += time.perf_counter() - began
        self.history.append({"step": module.iteration, **result})
        dashboard.log_evaluation(trainer.logger, result, module.iteration)
        self.on_result(self.history)


class RollingCheckpoint(L.Callback):
    """Keep checkpoints/last.ckpt fresh every `every` iterations and at the last one, with the run's identity in it
    (identity.py: its hashes and data), so that it is never resumed by another configuration.

    The last save happens inside the final batch, not in on_train_end: a checkpoint taken after the epoch closed
    could not be extended by a later run with a larger trainer.max_steps.
    """

    def __init__(self, path: Path, every: int, last: int, identity: dict):
        self.path, self.every, self.last, self.identity = path, every, last, identity

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if module.iteration % self.every == 0 or module.iteration == self.last:
            save_atomic(trainer, self.path)

    def on_save_checkpoint(self, trainer, module, checkpoint):
        checkpoint["identity"] = self.identity


class FirstStepTime(L.Callback):
    """When the first training step began (Unix time): with the process start, a job's start-up cost."""

    def __init__(self):
        self.at: float | None = None

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if self.at is None:
            self.at = time.time()


class ParameterTrajectory(L.Callback):
    """The players' parameters (G's, then D's, flattened) before the first iteration and after every one: a
    trajectory through parameter space, for games small enough to draw (the Dirac-GAN's (θ, ψ)).

    Each row is a copy made on the device (no synchronization per step); rows go to the CPU when asked for, and
    into the checkpoint, so that a resumed run keeps the whole trajectory.
    """

    def __init__(self):
        self.earlier = torch.empty(0)  # rows of an earlier process (from the checkpoint), on the CPU
        self.rows: list = []           # this process's rows, on the module's device

    def record(self, module) -> None:
        from gan_runner.modules.consensus import player_params

        g_params, d_params = player_params(module)
        self.rows.append(torch.cat([p.detach().reshape(-1) for p in g_params + d_params]))

    def points(self) -> torch.Tensor:
        """[iterations + 1, parameters] on the CPU (empty when nothing was recorded)."""
        if not self.rows:
            return self.earlier
        ours = torch.stack(self.rows).cpu()
        return torch.cat([self.earlier, ours]) if len(self.earlier) else ours

    def on_train_start(self, trainer, module):
        # A fresh run records its starting point; a resumed one the point its checkpoint was taken at, when the
        # checkpoint was written before that iteration's row.
        if len(self.earlier) + len(self.rows) == module.iteration:
            self.record(module)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.record(module)

    def state_dict(self) -> dict:
        return {"points": self.points()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.earlier, self.rows = state_dict["points"], []


def restore_recorded(callbacks: list[L.Callback], checkpoint: dict, module) -> None:
    """What `callbacks` recorded in training (a game's trajectory), put back from the checkpoint as a resumed run
    would have it, `module` holding the checkpoint's weights: a finished run evaluated again keeps its history."""
    states = checkpoint.get("callbacks", {})
    for callback in callbacks:
        if callback.state_key in states:
            callback.load_state_dict(states[callback.state_key])
        callback.on_train_start(None, module)  # completes the record with the checkpoint's own iterate
