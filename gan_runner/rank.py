"""A rank > 0 of a run on several processes, started by ddp.ConfigLauncher as `python -m gan_runner.rank <run
dir>/config.yaml`. Its own module, so that the strategy (ddp.py, which build.py imports) never imports the runner."""
import logging
import sys

from omegaconf import OmegaConf

from gan_runner.errors import UserError
from gan_runner.run import run


def main() -> None:
    """Rank > 0 of a run: train on the configuration that rank 0 saved; rank 0 alone writes and evaluates."""
    logging.basicConfig(level=logging.WARNING, format="[rank %(process)d][%(name)s][%(levelname)s] %(message)s")
    try:
        run(OmegaConf.load(sys.argv[1]))
    except UserError as exc:
        print(f"gan-runner: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
