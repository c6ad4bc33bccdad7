"""An Optuna study of three trials, one of which diverges: it scores +inf and the study completes around it."""
import math

import optuna
import pytest
from conftest import job_dirs
from omegaconf import OmegaConf

from gan_runner import results


@pytest.mark.heavy
def test_a_diverged_trial_does_not_end_the_study(gan_runner, tmp_path):
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", "sweep=optuna_lr", f"hydra.sweep.dir={sweep}", "hydra/sweeper/sampler=grid",
                      "hydra.sweeper.params=null", "optimizer.lr_g=choice(2e-4,1e30,1e-3)", "hydra.sweeper.n_trials=3",
                      "trainer.log_every_n_steps=2"])  # the NaN check runs at the logging interval
    assert out.returncode == 0, out.stderr[-3000:]
    statuses = {results.read(d / "metrics.json")["status"] for d in job_dirs(sweep)}
    assert statuses == {"completed", "diverged"}
    study = optuna.load_study(study_name="lr", storage=f"sqlite:///{sweep / 'optuna.db'}")
    values = {t.params["optimizer.lr_g"]: t.value for t in study.trials}
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) and len(values) == 3
    assert math.isinf(values[1e30]) and math.isfinite(values[2e-4]) and math.isfinite(values[1e-3])
    best = OmegaConf.load(sweep / "optimization_results.yaml")
    assert best.best_params["optimizer.lr_g"] != 1e30
