"""The members' batch streams as one: iteration t gives every member the batches of iteration t of its own seed's
stream, member k's in rows k*B .. (k+1)*B - 1 (the layout ensemble/module.py's `Members` reads)."""
import torch

from gan_runner.data.stream import BatchStream


class EnsembleStream:
    def __init__(self, streams: list[BatchStream]):
        self.streams = streams

    def __len__(self) -> int:
        return len(self.streams[0])

    def __iter__(self):
        for batches in zip(*self.streams, strict=True):
            samples, labels, indices = zip(*batches)
            yield torch.cat(samples, dim=1), torch.cat(labels, dim=1), torch.cat(indices, dim=1)
