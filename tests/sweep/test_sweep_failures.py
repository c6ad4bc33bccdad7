"""A job that raises is recorded and scores +inf, the sweep goes on, and gan-report shows the survivors and the
failures; sweep.continue_on_failure=false restores Hydra's abort."""
import csv
import statistics

import pytest
from conftest import TINY, run_cli

from gan_runner import results

BROKEN = "model.width=-1"  # passes every check before the run, then fails building the nets


@pytest.fixture(scope="module")
def partly_failed(tmp_path_factory):
    """A 2 x 2 grid in which both jobs of one configuration raise."""
    tmp = tmp_path_factory.mktemp("failing")
    out = run_cli(["-m", f"hydra.sweep.dir={tmp / 'sweep'}", "model.width=16,-1", "seed=0,1", *TINY,
                   "trainer.max_steps=10"], tmp)
    return out, tmp / "sweep"


def test_failed_jobs_are_recorded_and_the_sweep_goes_on(partly_failed):
    out, sweep = partly_failed
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = {d.name: results.read(d / "metrics.json") for d in sweep.iterdir() if d.name.isdigit()}
    assert [jobs[n]["status"] for n in "0123"] == ["completed", "completed", "failed", "failed"]
    for n in "23":
        assert jobs[n]["error"].startswith("RuntimeError: Trying to create tensor with negative dimension")
        assert "Traceback" in (sweep / n / "traceback.txt").read_text()


def test_report_of_a_partly_failed_sweep(partly_failed, tmp_path):
    _, sweep = partly_failed
    out = run_cli([str(sweep)], tmp_path, module="gan_runner.sweep.report")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {r["config"]: r for r in csv.DictReader((sweep / "summary.csv").open())}
    assert set(rows) == {"model.width=16", BROKEN}
    good, bad = rows["model.width=16"], rows[BROKEN]
    w1 = [results.read(sweep / n / "metrics.json")["metrics"]["final"]["w1"] for n in "01"]
    assert float(good["w1_mean"]) == pytest.approx(statistics.fmean(w1))
    assert float(good["w1_std"]) == pytest.approx(statistics.stdev(w1))
    assert (good["seeds"], good["completed"], good["failed"]) == ("2", "2", "0")
    assert (bad["seeds"], bad["failed"], bad["w1_mean"]) == ("0", "2", "")
    assert bad["error"].startswith("RuntimeError")
    report = (sweep / "report.md").read_text()
    assert "4 jobs in 2 configurations: 2 completed, 2 failed" in report
    assert "traceback: `2/traceback.txt`" in report
    for plot in ("objective.png", "curves.png", "gallery.png"):
        assert (sweep / plot).stat().st_size > 10_000 and f"]({plot})" in report


def test_abort_on_failure_when_asked(gan_runner, tmp_path):
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", f"hydra.sweep.dir={sweep}", BROKEN, "sweep.continue_on_failure=false"])
    assert out.returncode != 0
    assert results.read(sweep / "0" / "metrics.json")["status"] == "failed"


def test_a_failure_before_the_run_starts_is_recorded_too(gan_runner, tmp_path):
    """Placing a job (threads, GPU slot, imports) can fail as well: it is recorded and the sweep goes on."""
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", f"hydra.sweep.dir={sweep}", "seed=0,1", "+hydra.job.env_set.OMP_NUM_THREADS=two"])
    assert out.returncode == 0, out.stderr[-3000:]
    for n in "01":
        result = results.read(sweep / n / "metrics.json")
        assert result["status"] == "failed" and result["error"].startswith("ValueError"), result
        assert result["job"]["pid"] > 0
