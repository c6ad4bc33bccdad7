"""data.sampler: `epoch` (each epoch a new shuffle, every sample once) or `replacement` (i.i.d. draws: repeats
within an epoch's worth of batches at the rate independent draws give), both indexed by iteration so that a resumed
run and the ranks of a DDP run see the batches of one straight process."""
import pytest
import torch

from gan_runner.data.stream import BatchStream
from gan_runner.errors import UserError
from gan_runner.validate import validate

BATCHES = 78  # one epoch of mnist5k at batch 64: 4,992 of its 5,000 digits


def drawn(data, sampler: str, batch: int = 64, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    stream = BatchStream(data, batch, 1, BATCHES, seed=3, world_size=world_size, sampler=sampler)
    stream.rank = rank
    return torch.cat([stream._indices(t) for t in range(BATCHES)])


def test_an_epoch_takes_every_sample_at_most_once(mnist5k):
    idx = drawn(mnist5k, "epoch")
    assert idx.unique().numel() == len(idx) == 64 * BATCHES


def test_with_replacement_samples_repeat_as_often_as_independent_draws_do(mnist5k):
    idx = drawn(mnist5k, "replacement")
    n, size = len(idx), len(mnist5k)
    expected = size * (1 - (1 - 1 / size) ** n) / n  # distinct share of n i.i.d. draws from `size`: 0.63
    assert idx.unique().numel() / n == pytest.approx(expected, abs=0.02)  # its sd here is about 0.004


@pytest.mark.parametrize("sampler", ["epoch", "replacement"])
def test_two_ranks_see_the_rows_of_one_process_with_the_global_batch(mnist5k, sampler):
    one = drawn(mnist5k, sampler, batch=64).reshape(BATCHES, 64)
    ranks = [drawn(mnist5k, sampler, batch=32, rank=r, world_size=2).reshape(BATCHES, 32) for r in (0, 1)]
    assert torch.equal(torch.cat(ranks, 1), one)


def test_an_unknown_sampler_is_refused_in_one_line(cfg_factory):
    with pytest.raises(UserError, match="data.sampler='bootstrap': choose epoch or replacement"):
        validate(cfg_factory(["data=ring", "model=mlp", "data.sampler=bootstrap"]))
