"""`gan-runner`: compose -> preflight -> run -> return the objective (a finite float) to Hydra."""
import sys
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


def _plain_optuna_logs() -> None:
    """Optuna colours its own console handler's lines, and the codes end up in log files: its records go through
    Hydra's handlers instead, like every other log line."""
    import optuna

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()


def main() -> None:
    args = sys.argv[1:]
    flags = {a.split("=")[0] for a in args}
    multirun = bool({"-m", "--multirun"} & flags)
    if multirun and flags & {"--cfg", "-c", "--info", "-i", "--shell-completion", "-sc"}:
        _fail("-m runs a sweep, --cfg and --info only print: give one of them (e.g. drop -m to see the config)")
    if any("optuna" in a for a in args):
        _plain_optuna_logs()
    if not _INFO_FLAGS & flags:
        from gan_runner.preflight import check

        try:
            check([a for a in args if not a.startswith("-")], multirun=multirun)
        except UserError as exc:
            _fail(str(exc))
    _hydra_main()


if __name__ == "__main__":
    main()
