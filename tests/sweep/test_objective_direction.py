"""An objective that is better higher (an accuracy) is maximized everywhere: a run's best evaluation, gan-report's
ranking, the value a failed job returns, and an Optuna study's direction; a study that would minimize it, and an
objective that is no metric, are refused in one line."""
import json
import math

import optuna
import pytest
from conftest import job_dirs

from gan_runner import results
from gan_runner.errors import UserError
from gan_runner.preflight import check
from gan_runner.run_folder import objective_value
from gan_runner.sweep.collect import collect
from gan_runner.sweep.report import build
from gan_runner.sweep.summary import group, ranked


def test_best_is_the_highest_accuracy_and_the_lowest_fid():
    history = [{"step": 100, "cluster_accuracy": 0.9, "fid": 9.0}, {"step": 200, "cluster_accuracy": 0.6, "fid": 4.0}]
    final = {"cluster_accuracy": 0.7, "fid": 5.0}
    assert results.best(history, final, "cluster_accuracy")["step"] == 100
    assert results.best(history, final, "fid")["step"] == 200
    assert results.best([{"step": 1, "hq_percent": math.nan}], {"hq_percent": 3.0}, "hq_percent") == {"hq_percent": 3.0}


def job(sweep, name, overrides, accuracy):
    folder = sweep / name
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / "metrics.json").write_text(json.dumps({
        "status": "completed", "objective": "cluster_accuracy", "step": 10, "history": [],
        "metrics": {"final": {"cluster_accuracy": accuracy, "fid": 10 * accuracy}}}))


def test_gan_report_ranks_the_highest_accuracy_first(tmp_path):
    sweep = tmp_path / "sweep"
    for lr, seed, accuracy in [("1e-4", 0, 0.5), ("1e-4", 1, 0.6), ("2e-4", 0, 0.8), ("2e-4", 1, 0.9)]:
        job(sweep, f"lr={lr},seed={seed}", [f"optimizer.lr_d={lr}", f"seed={seed}"], accuracy)
    rows = ranked(group(collect(sweep)), "cluster_accuracy")
    assert [row.config for row in rows] == ["optimizer.lr_d=2e-4", "optimizer.lr_d=1e-4"]
    assert rows[0].best_job("cluster_accuracy").final["cluster_accuracy"] == 0.9
    report = build(sweep).read_text()
    assert "ranked by the objective `cluster_accuracy` (higher is better)" in report
    assert "| 1 | `optimizer.lr_d=2e-4` | 2 | 0.85 ± 0.071 |" in report


def test_a_run_without_a_result_scores_the_worst_value_of_its_direction():
    assert objective_value({"status": "diverged", "metrics": {"final": {}}}, "cluster_accuracy") == -math.inf
    assert objective_value({"status": "failed"}, "fid") == math.inf
    assert objective_value({"metrics": {"final": {"cluster_accuracy": 0.8}}}, "cluster_accuracy") == 0.8


@pytest.mark.parametrize("args, message", [
    (["objective=accuracy"], "objective=accuracy is no metric that gan-runner reports: choose one of class_accuracy"),
    (["data=dirac", "model=dirac", "objective=theta"], "objective=theta describes a run but does not rank it"),
    (["data=ring", "model=mlp", "objective=fid"], r"objective=fid is not reported on data=ring \(points\): choose one "
                                                  "of hq_percent, modes, reverse_kl, w1$"),
    (["data=dirac", "model=dirac", "objective=w1"], "objective=w1 is not reported on data=dirac"),
    (["objective=w1"], "objective=w1 is not reported on data=mnist5k"),
    (["variant=catgan", "objective=test_cluster_accuracy"],
     "objective=test_cluster_accuracy would choose settings by the test split, .*: choose by cluster_accuracy"),
])
def test_an_objective_that_does_not_rank_is_refused(args, message):
    with pytest.raises(UserError, match=message):
        check(args)


def test_a_study_that_minimizes_an_accuracy_is_refused():
    toy = ["data=ring", "model=mlp", "objective=hq_percent"]
    with pytest.raises(UserError, match="hydra.sweeper.direction=minimize disagrees with objective=hq_percent, "
                                        "which is better higher: set hydra.sweeper.direction=maximize"):
        check(["sweep=optuna_lr", *toy, "hydra.sweeper.direction=minimize"], multirun=True)
    with pytest.raises(UserError, match="direction=minimize disagrees"):  # Optuna's own default is minimize
        check(["hydra/sweeper=optuna", *toy, "optimizer.lr_g=interval(1e-4,1e-3)"], multirun=True)
    check(["sweep=optuna_lr", *toy], multirun=True)  # the preset's direction follows the objective


@pytest.mark.heavy
def test_an_optuna_study_of_an_accuracy_maximizes_it_and_ranks_a_diverged_trial_last(gan_runner, tmp_path):
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", "sweep=optuna_lr", "objective=hq_percent", f"hydra.sweep.dir={sweep}",
                      "hydra/sweeper/sampler=grid", "hydra.sweeper.params=null", "optimizer.lr_g=choice(2e-4,1e30)",
                      "hydra.sweeper.n_trials=2", "trainer.log_every_n_steps=2"])
    assert out.returncode == 0, out.stderr[-3000:]
    assert {results.read(d / "metrics.json")["status"] for d in job_dirs(sweep)} == {"completed", "diverged"}
    study = optuna.load_study(study_name="lr", storage=f"sqlite:///{sweep / 'optuna.db'}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    values = {t.params["optimizer.lr_g"]: t.value for t in study.trials}
    assert values[1e30] == -math.inf and math.isfinite(values[2e-4])
    assert study.best_params == {"optimizer.lr_g": 2e-4}
