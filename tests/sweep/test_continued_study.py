"""A seeded Optuna study run again in its folder continues its sampler: new parameters, no cached repeats, and the
same sessions propose the same parameters again."""
import optuna
import pytest
from conftest import job_dirs

from gan_runner.sweep.sampler import continued_tpe

SPACE = {"lr": optuna.distributions.LogUniformDistribution(1e-5, 1e-3),
         "beta1": optuna.distributions.CategoricalDistribution([0.0, 0.5, 0.9])}


def session(storage: str, sampler, trials: int) -> list[tuple]:
    """What Hydra's Optuna sweeper does in one command: load (or create) the study, ask, tell."""
    study = optuna.create_study(study_name="s", storage=storage, sampler=sampler, load_if_exists=True)
    asked = []
    for _ in range(trials):
        trial = study.ask()
        params = tuple(trial._suggest(name, distribution) for name, distribution in SPACE.items())
        study.tell(trial, params[0])
        asked.append(params)
    return asked


def test_a_continued_session_proposes_new_parameters_repeatably(tmp_path):
    storage = f"sqlite:///{tmp_path / 'a.db'}"
    first, second = session(storage, continued_tpe(seed=0), 3), session(storage, continued_tpe(seed=0), 3)
    assert not set(first) & set(second)
    again = f"sqlite:///{tmp_path / 'b.db'}"
    assert session(again, continued_tpe(seed=0), 3) + session(again, continued_tpe(seed=0), 3) == first + second
    fresh = session(f"sqlite:///{tmp_path / 'c.db'}", optuna.samplers.TPESampler(seed=0), 3)
    assert fresh == first  # a new study proposes what a plain sampler with that seed does


@pytest.mark.heavy
def test_the_preset_run_twice_in_its_folder_explores_new_trials(gan_runner, tmp_path):
    sweep = tmp_path / "sweep"
    command = ["-m", "sweep=optuna_lr", f"hydra.sweep.dir={sweep}", "hydra.sweeper.n_trials=2",
               "hydra.sweeper.sampler.seed=0", "trainer.max_steps=2"]
    for _ in range(2):
        out = gan_runner(command)
        assert out.returncode == 0, out.stderr[-3000:]
    study = optuna.load_study(study_name="lr", storage=f"sqlite:///{sweep / 'optuna.db'}")
    proposed = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(proposed) == 4 and len(set(proposed)) == 4
    assert len(job_dirs(sweep)) == 4  # four configurations trained, none returned from the first session's folders
