"""A job that raises is recorded and scores +inf, the sweep goes on, and gan-report shows the survivors and the
failures; sweep.continue_on_failure=false restores Hydra's abort."""
import csv
import statistics

import pytest
from conftest import TINY, job_dirs, run_cli

from gan_runner import results

GOOD = "optimizer.kwargs.betas=[0.5,0.999]"
BROKEN = "optimizer.kwargs.betas=[0.5,2.0]"  # passes every check before the run, then Adam refuses it


@pytest.fixture(scope="module")
def partly_failed(tmp_path_factory):
    """A 2 x 2 grid in which both jobs of one configuration raise."""
    tmp = tmp_path_factory.mktemp("failing")
    out = run_cli(["-m", f"hydra.sweep.dir={tmp / 'sweep'}", f"{GOOD},{BROKEN.split('=', 1)[1]}", "seed=0,1", *TINY,
                   "trainer.max_steps=10"], tmp)
    return out, tmp / "sweep"


@pytest.mark.heavy
def test_failed_jobs_are_recorded_and_the_sweep_goes_on(partly_failed):
    out, sweep = partly_failed
    assert out.returncode == 0, out.stderr[-3000:]
    dirs = job_dirs(sweep)
    jobs = [results.read(d / "metrics.json") for d in dirs]
    assert [j["status"] for j in jobs] == ["completed", "completed", "failed", "failed"]
    for d, job in list(zip(dirs, jobs))[2:]:
        assert job["error"].startswith("ValueError: Invalid beta parameter at index 1")
        assert "Traceback" in (d / "traceback.txt").read_text()
        assert f"{BROKEN},seed=" in d.name  # the folder is named by the job's configuration
    # ... less the overrides that change only how a run reports (TINY turns the progress bar off)
    assert all("enable_progress_bar" not in d.name for d in dirs)


@pytest.mark.heavy
def test_report_of_a_partly_failed_sweep(partly_failed, tmp_path):
    _, sweep = partly_failed
    out = run_cli([str(sweep)], tmp_path, module="gan_runner.sweep.report")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {r["config"]: r for r in csv.DictReader((sweep / "summary.csv").open())}
    assert set(rows) == {GOOD, BROKEN}
    good, bad = rows[GOOD], rows[BROKEN]
    w1 = [results.read(d / "metrics.json")["metrics"]["final"]["w1"] for d in job_dirs(sweep)[:2]]
    assert float(good["w1_mean"]) == pytest.approx(statistics.fmean(w1))
    assert float(good["w1_std"]) == pytest.approx(statistics.stdev(w1))
    assert (good["seeds"], good["completed"], good["failed"]) == ("2", "2", "0")
    assert (bad["seeds"], bad["failed"], bad["w1_mean"]) == ("0", "2", "")
    assert bad["error"].startswith("ValueError: Invalid beta")
    report = (sweep / "report.md").read_text()
    assert "4 jobs in 2 configurations: 2 completed, 2 failed" in report
    assert f"traceback: `{job_dirs(sweep)[2].name}/traceback.txt`" in report
    for plot in ("objective.png", "curves.png", "gallery.png"):
        assert (sweep / plot).stat().st_size > 10_000 and f"]({plot})" in report


@pytest.mark.heavy
def test_abort_on_failure_when_asked(gan_runner, tmp_path):
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", f"hydra.sweep.dir={sweep}", BROKEN, "sweep.continue_on_failure=false"])
    assert out.returncode != 0
    assert [results.read(d / "metrics.json")["status"] for d in job_dirs(sweep)] == ["failed"]


@pytest.mark.heavy
def test_a_failure_before_the_run_starts_is_recorded_too(gan_runner, tmp_path):
    """Placing a job (threads, GPU slot, imports) can fail as well: it is recorded and the sweep goes on."""
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", f"hydra.sweep.dir={sweep}", "seed=0,1", "+hydra.job.env_set.OMP_NUM_THREADS=two"])
    assert out.returncode == 0, out.stderr[-3000:]
    for d in job_dirs(sweep):
        result = results.read(d / "metrics.json")
        assert result["status"] == "failed" and result["error"].startswith("ValueError"), result
        assert result["job"]["pid"] > 0


@pytest.mark.heavy
def test_a_damaged_metrics_json_is_recorded_as_a_failure_and_kept_beside(gan_runner, tmp_path):
    sweep = tmp_path / "sweep"
    assert gan_runner(["-m", f"hydra.sweep.dir={sweep}", "seed=0"]).returncode == 0
    [job] = job_dirs(sweep)
    truncated = (job / "metrics.json").read_bytes()[:50]  # as a crash in the middle of a write would leave it
    (job / "metrics.json").write_bytes(truncated)
    out = gan_runner(["-m", f"hydra.sweep.dir={sweep}", "seed=0,1"])
    assert out.returncode == 0, out.stderr[-3000:]
    result = results.read(job / "metrics.json")
    assert result["status"] == "failed" and "metrics.json cannot be read" in result["error"], result
    assert result["error"].endswith("(the unreadable file is kept as metrics.json.damaged)")
    assert (job / "metrics.json.damaged").read_bytes() == truncated
    assert results.read(job_dirs(sweep)[1] / "metrics.json")["status"] == "completed"  # the sweep went on
