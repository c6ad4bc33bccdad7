"""Training batches indexed by iteration, so that a resumed run sees exactly the batches a straight run would.

Iteration t delivers `per_step` batches (n_critic D steps): D-batch j = t * per_step + k comes from the
permutation of epoch j // batches_per_epoch, drawn from a generator seeded by (seed, epoch). No state but `start`.
"""
import torch

from gan_runner.data.dataset import GanData


class BatchStream:
    def __init__(self, data: GanData, batch_size: int, per_step: int, total_steps: int, seed: int, start: int = 0):
        if batch_size > len(data.x):
            raise ValueError(f"data.batch_size={batch_size} exceeds the {len(data.x)} training samples")
        self.data, self.batch_size, self.per_step = data, batch_size, per_step
        self.total_steps, self.seed, self.start = total_steps, seed, start
        self.batches_per_epoch = len(data.x) // batch_size
        self._epoch, self._perm = -1, None

    def __len__(self) -> int:
        return self.total_steps

    def _indices(self, j: int) -> torch.Tensor:
        epoch, pos = divmod(j, self.batches_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(len(self.data.x), generator=g)
        return self._perm[pos * self.batch_size:(pos + 1) * self.batch_size]

    def step_batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """[per_step, B, ...] samples and [per_step, B] labels (-1 where the data has none) for iteration t."""
        idx = torch.stack([self._indices(t * self.per_step + k) for k in range(self.per_step)])
        y = self.data.y[idx] if self.data.y is not None else torch.full(idx.shape, -1, dtype=torch.long)
        return self.data.x[idx], y

    def __iter__(self):
        for t in range(self.start, self.total_steps):
            yield self.step_batch(t)
