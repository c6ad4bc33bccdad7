"""Where an Optuna study lives: an SQLite file in the sweep dir, so that a study can be inspected and continued."""
from pathlib import Path


def sqlite(path: str) -> str:
    """The storage URL of `path`; its folder is made first (the sweeper opens the study before any job runs)."""
    file = Path(path).absolute()
    file.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{file}"
