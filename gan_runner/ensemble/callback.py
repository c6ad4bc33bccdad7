"""During an ensemble's training, what each member's run would write alone: its losses to its logger at the logged
iterations, its periodic evaluations (metrics and a picture), and at every checkpoint interval its own
checkpoints/last.ckpt (checkpoints.py) and running record. A member recorded diverged writes nothing more."""
import time

import lightning.pytorch as L
import torch

from gan_runner import dashboard, results
from gan_runner.ensemble import checkpoints


class MemberOutputs(L.Callback):
    def __init__(self, members: list, evaluation, every: int, checkpoint_every: int, last: int):
        self.members, self.evaluation = members, evaluation
        self.every, self.checkpoint_every, self.last = every, checkpoint_every, last
        self.seconds = 0.0  # spent in periodic evaluations: the members' training time leaves it out

    def _live(self, module) -> list[tuple[int, object]]:
        return [(k, m) for k, m in enumerate(self.members) if k not in module.diverged]

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        iteration = module.iteration
        if iteration % trainer.log_every_n_steps == 0:  # the rows Lightning's logging of a run alone writes
            for k, m in self._live(module):
                values = {name: float(v[k]) for name, v in module.member_logs.items()}
                m.logger.log_metrics({**values, "iteration": float(iteration), "epoch": float(trainer.current_epoch)},
                                     step=dashboard.step(iteration))
        if self.every > 0 and iteration % self.every == 0 and iteration < self.last:
            began = time.perf_counter()
            for k, m in self._live(module):
                picture = m.out / "samples" / f"step_{iteration:06d}.png"
                result = self.evaluation(module.copy_member(k, m.plain), picture)
                m.record.history.append({"step": iteration, **result})
                dashboard.log_evaluation(m.logger, result, iteration)
            self.seconds += time.perf_counter() - began
            self._write_records(module)
        if iteration % self.checkpoint_every == 0 or iteration == self.last:
            self._save_checkpoints(trainer, module)
            self._write_records(module)

    def _write_records(self, module) -> None:
        for _, m in self._live(module):
            m.record.running(module.iteration, self.seconds)

    def _save_checkpoints(self, trainer, module) -> None:
        # Lightning's own dump of the ensemble's training state (loops, optimizers, schedulers, the module's extras),
        # cut into the members' checkpoints.
        whole = trainer._checkpoint_connector.dump_checkpoint(weights_only=False)
        parts = checkpoints.split(whole, module, [m.plain for m in self.members],
                                  [m.folder.now for m in self.members])
        for k, m in self._live(module):
            m.folder.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            results.atomically(m.folder.checkpoint, lambda tmp, part=parts[k]: torch.save(part, tmp))
