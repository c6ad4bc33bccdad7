"""gan-report on a sweep that is still running: jobs without results, running jobs, non-finite metrics."""
import csv
import json
import os
import socket
import subprocess

import pytest

from gan_runner.errors import UserError
from gan_runner.sweep.report import build


def job(sweep, number, overrides, result=None):
    folder = sweep / str(number)
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if result is not None:
        (folder / "metrics.json").write_text(json.dumps(result))


def done(w1, kl, history=()):
    return {"status": "completed", "objective": "w1", "step": 100, "history": list(history),
            "metrics": {"final": {"w1": w1, "reverse_kl": kl}}}


def test_a_running_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    job(sweep, 0, ["data=ring", "loss=ns", "seed=0"], done(0.5, 0.1, [{"step": 50, "w1": 0.9, "reverse_kl": 0.4}]))
    job(sweep, 1, ["data=ring", "loss=ns", "seed=1"], done(0.7, "nan"))
    alive = {"pid": os.getpid(), "host": socket.gethostname()}
    job(sweep, 2, ["data=ring", "loss=hinge", "seed=0"], {"status": "running", "objective": "w1", "step": 50,
                                                          "history": [{"step": 50, "w1": 2.0}], "process": alive})
    job(sweep, 3, ["data=ring", "loss=hinge", "seed=1"])  # started, nothing written yet
    job(sweep, 4, ["data=ring", "loss=ls", "seed=0"], {"status": "diverged", "error": "d_loss became nan",
                                                       "objective": "w1", "step": 7, "history": []})
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer exists: a job killed while it ran
    job(sweep, 6, ["data=ring", "loss=ls", "seed=2"], {"status": "running", "objective": "w1", "step": 40,
                                                       "history": [], "process": {"pid": gone.pid,
                                                                                  "host": socket.gethostname()}})
    job(sweep, 5, ["data=ring", "loss=ls", "seed=1"])
    (sweep / "5" / "metrics.json").write_text('{"status": "compl')  # cut short by a crash
    report = build(sweep).read_text()

    rows = {r["config"]: r for r in csv.DictReader((sweep / "summary.csv").open())}
    assert list(rows) == ["loss=ns", "loss=hinge", "loss=ls"]  # best first, then those without a result
    assert float(rows["loss=ns"]["w1_mean"]) == pytest.approx(0.6)
    assert float(rows["loss=ns"]["w1_std"]) == pytest.approx(0.1414, abs=1e-4)
    assert rows["loss=ns"]["reverse_kl_mean"] == "0.1"  # the nan of seed 1 is left out, and said so below
    hinge = rows["loss=hinge"]
    assert (hinge["running"], hinge["pending"], hinge["seeds"]) == ("1", "1", "0")
    assert (rows["loss=ls"]["diverged"], rows["loss=ls"]["failed"], rows["loss=ls"]["stopped"]) == ("1", "1", "1")
    assert "job `6`: **stopped**: its process ended at iteration 40 without a result" in report
    assert hinge["stopped"] == "0"  # job 2's process is alive (this test's own)
    assert "job `5`: **failed**: metrics.json unreadable" in report
    assert "Common to every job: `data=ring`" in report
    assert "| 1 | `loss=ns` | 2 | 0.6 ± 0.14 | 0.1 (n=1) |" in report
    assert "**diverged**: d_loss became nan" in report
    assert (sweep / "objective.png").exists() and (sweep / "curves.png").exists()
    assert not (sweep / "gallery.png").exists() and "gallery.png" not in report  # no job wrote samples


def test_not_a_sweep(tmp_path):
    with pytest.raises(UserError, match="no job folders"):
        build(tmp_path)


def test_an_objective_that_does_not_rank_keeps_the_sweep_order(tmp_path):
    """Sweeps written before objectives were checked may name one (the critic's W1 estimate): no order is claimed."""
    sweep = tmp_path / "sweep"
    for number, (loss, estimate) in enumerate([("ns", 0.9), ("hinge", 0.1)]):
        job(sweep, number, ["data=ring", f"loss={loss}"], {"status": "completed", "objective": "critic_w1",
                                                            "step": 10, "metrics": {"final": {"critic_w1": estimate}}})
    report = build(sweep).read_text()
    assert "in sweep order: the objective `critic_w1` does not rank runs." in report
    assert report.index("`loss=ns`") < report.index("`loss=hinge`")
