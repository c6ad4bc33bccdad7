"""Checks every data source shares, run before any data is loaded: is the set big enough for the run?"""
from gan_runner import hardware
from gan_runner.errors import UserError


def check_size(n: int, cfg, what: str = "training samples") -> None:
    """The global batch (data.batch_size per rank x ranks) and metrics.num_samples must fit in the n samples."""
    ranks = hardware.world_size(cfg.trainer)
    if cfg.data.batch_size * ranks > n:
        per_rank = f" x {ranks} ranks" if ranks > 1 else ""
        raise UserError(f"data.batch_size={cfg.data.batch_size}{per_rank} exceeds the {n} {what} of "
                        f"data={cfg.data.name}: set data.batch_size to at most {n // ranks}")
    if cfg.metrics.num_samples > n:
        raise UserError(f"metrics.num_samples={cfg.metrics.num_samples} exceeds the {n} {what} of "
                        f"data={cfg.data.name}: set metrics.num_samples to at most {n}")
