"""Keep the console to what a user of the runner can act on.

Lightning announces accelerators that are not there, advertises a logging service, says that the one-epoch
stream reached its one epoch, and warns about a logging interval longer than a short run; the stack warns about
its own deprecations. Installed wherever a run happens (the CLI, each joblib worker, DDP ranks, tests), through
gan_runner.run's import.
"""
import logging
import re
import warnings

_NOISE = re.compile(
    r"^(GPU available: False|TPU available|HPU available|💡 Tip|`Trainer.fit` stopped: `max_epochs=1` reached"
    r"|Initializing distributed|-{20,}|distributed_backend=|All distributed processes registered)")

_WARNINGS = (
    r".*LeafSpec.*",
    r".*will save all extracted features.*",
    r".*number of training batches .* is smaller than the logging interval.*",
    r".*does not have many workers which may be a bottleneck.*",  # the batch stream is in memory: no workers needed
    r".*Metric `\w+` will save all extracted features in buffer.*",
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _NOISE.match(record.getMessage().strip())


def install() -> None:
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                 "lightning.pytorch.accelerators.cuda", "lightning.fabric.utilities.distributed"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())
    for message in _WARNINGS:
        warnings.filterwarnings("ignore", message=message)
