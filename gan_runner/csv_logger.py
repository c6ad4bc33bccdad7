"""The CSV logger (`logger=csv`) of a run that may be resumed or extended.

Lightning's CSVLogger deletes metrics.csv when it finds one in its folder, so a resumed or extended run would keep
only the rows logged after it started again. This one keeps the rows of the iterations the run resumes from and
appends after them; rows of a killed run past its last checkpoint are dropped, since the resumed run logs those
iterations again.
"""
import csv
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


def rows_before(path: Path, step: int) -> tuple[list[str], list[dict]]:
    """The header and the rows of a metrics.csv logged before Lightning step `step` (none when there is no file)."""
    if not path.is_file():
        return [], []
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), [row for row in reader if int(row["step"]) < step]


class ResumableCSVLogger(CSVLogger):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.resumed_at = 0  # the iteration training starts from; run.py sets it before anything is logged

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is not None:
            return self._experiment
        # An iteration's values sit at Lightning step iteration - 1: those of iterations up to resumed_at stay.
        header, kept = rows_before(Path(self.log_dir) / ExperimentWriter.NAME_METRICS_FILE, self.resumed_at)
        self._fs.makedirs(self.root_dir, exist_ok=True)
        self._experiment = ExperimentWriter(log_dir=self.log_dir)  # deletes the old file
        if kept:
            self._experiment.metrics_keys = header
            with open(self._experiment.metrics_file_path, "w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=header)
                writer.writeheader()
                writer.writerows(kept)
        return self._experiment
