"""Training batches indexed by iteration, so that a resumed run sees exactly the batches a straight run would.

Iteration t delivers `per_step` batches (n_critic D steps): D-batch j = t * per_step + k is a slice of the
permutation of epoch j // batches_per_epoch, drawn from a generator seeded by (seed, epoch) (`sampler="epoch"`),
or (`sampler="replacement"`) `batch` indices drawn uniformly with replacement from a generator seeded by (seed, j):
i.i.d. samples, some twice within an epoch's worth of batches and some never. Under DDP the global batch is
`batch_size` per rank times the ranks, and each rank takes its own rows of it: W ranks with batch b see the samples
of one process with batch W*b. No state but `start`.
"""
import torch

from gan_runner.data.dataset import GanData
from gan_runner.distributed import world

SAMPLERS = ("epoch", "replacement")


class BatchStream:
    def __init__(self, data: GanData, batch_size: int, per_step: int, total_steps: int, seed: int, start: int = 0,
                 world_size: int = 1, sampler: str = "epoch"):
        global_batch = batch_size * world_size
        if global_batch > len(data):
            raise ValueError(f"data.batch_size={batch_size} x {world_size} ranks exceeds the {len(data)} training "
                             "samples")
        self.data, self.batch_size, self.per_step = data, batch_size, max(per_step, 1)  # G's batch without D
        self.total_steps, self.seed, self.start = total_steps, seed, start
        if sampler not in SAMPLERS:
            raise ValueError(f"data.sampler={sampler!r}: choose {' or '.join(SAMPLERS)}")
        self.replacement = sampler == "replacement"
        self.rank, self.global_batch = 0, global_batch  # the rank is known once training has started the ranks
        self.batches_per_epoch = len(data) // global_batch
        self._epoch, self._perm = -1, None

    def __len__(self) -> int:
        return self.total_steps

    def _indices(self, j: int) -> torch.Tensor:
        if self.replacement:
            g = torch.Generator().manual_seed((self.seed << 32) + j)  # no two (seed, batch) pairs share a stream
            return torch.randint(len(self.data), (self.global_batch,), generator=g)[self._own_rows()]
        epoch, pos = divmod(j, self.batches_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(len(self.data), generator=g)
        return self._perm[pos * self.global_batch:(pos + 1) * self.global_batch][self._own_rows()]

    def _own_rows(self) -> slice:
        return slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)

    def step_batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[per_step, B, ...] samples, [per_step, B] labels (-1 where the data has none) and [per_step, B] their
        places in the training set (a variant with per-image codes reads them) for iteration t."""
        idx = torch.stack([self._indices(t * self.per_step + k) for k in range(self.per_step)])
        return self.data.samples(idx), self.data.labels(idx), idx

    def __iter__(self):
        self.rank = world()[0]
        for t in range(self.start, self.total_steps):
            yield self.step_batch(t)
