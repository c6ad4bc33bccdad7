"""Checks every data source shares, run before any data is loaded: is the set big enough for the run?"""
from gan_runner import hardware
from gan_runner.checks import positive
from gan_runner.errors import UserError


def check_size(n: int, cfg, what: str) -> None:
    """A data set of `n` samples (`what`: "images of data=digits") must hold one global batch (data.batch_size per
    rank x ranks), and the real samples an evaluation compares with (unless FID compares with the statistics of the
    whole set, metrics.reference=train_set)."""
    try:
        ranks = hardware.world_size(cfg.trainer)
    except UserError:  # devices this machine lacks: checked where the job runs (a cluster node)
        ranks = 1
    if cfg.data.batch_size * ranks > n:
        across = f" x {ranks} ranks" if ranks > 1 else ""
        raise UserError(f"data.batch_size={cfg.data.batch_size}{across} exceeds the {n} {what}: set data.batch_size "
                        f"to at most {n // ranks}")
    if cfg.metrics.get("reference", "sample") == "sample" and cfg.metrics.num_samples > n:
        raise UserError(f"metrics.num_samples={cfg.metrics.num_samples} exceeds the {n} {what}: set "
                        f"metrics.num_samples to at most {n}")


def sized(n: int, what: str, *positive_keys: str):
    """The check of a source whose size is known without reading it (and whose `positive_keys` must be > 0)."""
    def check(args: dict, cfg) -> None:
        positive(args, *positive_keys)
        check_size(n, cfg, what)

    return check
