"""metrics.json's train_time_s: the seconds in training, periodic evaluations left out, summed over resumes."""
import time

import pytest

from gan_runner import results, run as run_module
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
    build = run_module._evaluation
    monkeypatch.setattr(run_module, "_evaluation", lambda *args: SlowEvaluation(build(*args)))


def test_train_time_leaves_out_the_evaluations_and_adds_up_over_an_extension(cfg_factory, tmp_path, slow_evaluations):
    out = tmp_path / "run"
    run(cfg_factory([*SETTINGS, "trainer.max_steps=6"], out))
    first = results.read(out / "metrics.json")
    # evaluations at 2 and 4 inside training, the final one after it; the extension evaluates only at its end (8)
    assert 0 < first["train_time_s"] <= first["wall_time_s"] - 3 * PAUSE
    run(cfg_factory([*SETTINGS, "trainer.max_steps=8"], out))
    extended = results.read(out / "metrics.json")
    assert first["train_time_s"] < extended["train_time_s"] <= extended["wall_time_s"] - 4 * PAUSE
