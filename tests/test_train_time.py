"""metrics.json's train_time_s: the seconds in training, periodic evaluations left out, summed over resumes."""
import time

import pytest

from gan_runner import results
from gan_runner import run as run_module
from gan_runner.run import run

SETTINGS = ["data=ring", "model=mlp", "model.width=16", "trainer.enable_progress_bar=false", "metrics.every_n_steps=2",
            "metrics.num_samples=200", "checkpoint_every_n_steps=2"]
PAUSE = 1.0  # seconds added to each evaluation


class SlowEvaluation:
    def __init__(self, evaluation):
        self.evaluation = evaluation

    def __call__(self, *args, **kwargs):
        time.sleep(PAUSE)
        return self.evaluation(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.evaluation, name)


@pytest.fixture
def slow_evaluations(monkeypatch):
    build = run_module.evaluation_for
    monkeypatch.setattr(run_module, "evaluation_for", lambda *args: SlowEvaluation(build(*args)))


def test_train_time_leaves_out_the_evaluations_and_adds_up_over_an_extension(cfg_factory, tmp_path, slow_evaluations):
    out = tmp_path / "run"
    run(cfg_factory([*SETTINGS, "trainer.max_steps=6"], out))
    first = results.read(out / "metrics.json")
    # evaluations at 2 and 4 inside training, the final one after it; the extension evaluates only at its end (8)
    assert 0 < first["train_time_s"] <= first["wall_time_s"] - 3 * PAUSE
    run(cfg_factory([*SETTINGS, "trainer.max_steps=8"], out))
    extended = results.read(out / "metrics.json")
    assert first["train_time_s"] < extended["train_time_s"] <= extended["wall_time_s"] - 4 * PAUSE


def test_a_run_resumed_after_a_kill_counts_on_from_its_last_record(cfg_factory, tmp_path):
    out = tmp_path / "run"
    run(cfg_factory([*SETTINGS, "trainer.max_steps=4"], out))
    killed = results.read(out / "metrics.json")  # as a run killed after its evaluation at 4 of 8 left it
    killed.update(status="running", max_steps=8, wall_time_s=1000.0, train_time_s=900.0, metrics={})
    results.write(out / "metrics.json", killed)
    run(cfg_factory([*SETTINGS, "trainer.max_steps=8"], out))
    resumed = results.read(out / "metrics.json")
    assert resumed["step"] == 8 and 900 < resumed["train_time_s"] < 950 and 1000 < resumed["wall_time_s"] < 1050


def test_a_running_record_carries_the_time_so_far(cfg_factory, tmp_path, slow_evaluations, monkeypatch):
    seen, write = [], results.write

    def spy(path, record):
        if record.get("status") == "running" and record["step"] > 0:
            seen.append(record)
        write(path, record)
    monkeypatch.setattr(results, "write", spy)
    run(cfg_factory([*SETTINGS, "trainer.max_steps=6"], tmp_path / "run"))
    assert [r["step"] for r in seen] == [2, 4] and 0 < seen[0]["train_time_s"] < seen[1]["train_time_s"]
    assert seen[1]["wall_time_s"] - seen[1]["train_time_s"] >= 2 * PAUSE
