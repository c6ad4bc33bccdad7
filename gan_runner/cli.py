"""`gan-runner`: compose -> preflight -> run -> return the objective (a finite float) to Hydra."""
import sys
import warnings
from pathlib import Path

import hydra
from omegaconf import DictConfig

from gan_runner.errors import UserError

# Flags after which Hydra does no training, so there is nothing to check beforehand.
_INFO_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--version", "--shell-completion",
               "-sc", "--resolve", "-p", "--package"}


def _fail(message: str) -> None:
    print(f"gan-runner: error: {message}", file=sys.stderr)
    sys.exit(2)


@hydra.main(version_base="1.3", config_path=str(Path(__file__).parent / "conf"), config_name="config")
def _hydra_main(cfg: DictConfig) -> float:
    from gan_runner.sweep.job import run_job  # imported here so that --help does not pay for torch and Lightning

    try:
        return run_job(cfg)
    except UserError as exc:
        _fail(str(exc))


def main() -> None:
    # Deprecation chatter of the installed stack, not actionable by a user of the runner.
    warnings.filterwarnings("ignore", message=".*(LeafSpec|will save all extracted features).*")
    args = sys.argv[1:]
    if not _INFO_FLAGS.intersection(a.split("=")[0] for a in args):
        from gan_runner.preflight import check

        try:
            check([a for a in args if not a.startswith("-")], multirun=bool({"-m", "--multirun"} & set(args)))
        except UserError as exc:
            _fail(str(exc))
    _hydra_main()


if __name__ == "__main__":
    main()
