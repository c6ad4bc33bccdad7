"""A seeded Optuna sampler that continues a stored study instead of repeating it.

The study lives in <sweep dir>/optuna.db and is loaded again when the same sweep is run in its folder, but a
sampler built with `seed=0` starts its random stream from the beginning: it proposes the first session's
parameters again, which come back as those jobs' cached results, so nothing new is explored and the study's
history holds duplicates. Here the sampler is built when the session asks for its first trial, with a seed drawn
from (seed, trials already in the study): a fresh study keeps `seed` itself (proposals as before), a continued one
gets a stream of its own, and the same sequence of sessions proposes the same parameters again.
"""
from collections.abc import Callable

import numpy as np
import optuna


def continued_seed(seed: int | None, done: int) -> int | None:
    """`seed` for a fresh study; for one that holds `done` trials, a seed of its own (None stays unseeded)."""
    if seed is None or done == 0:
        return seed
    return int(np.random.SeedSequence([seed, done]).generate_state(1)[0])


class Continued(optuna.samplers.BaseSampler):
    """`make(seed)` built at the session's first trial, with continued_seed(seed, that trial's number)."""

    def __init__(self, make: Callable[[int | None], optuna.samplers.BaseSampler], seed: int | None):
        self._make, self._seed, self._sampler = make, seed, None

    def _for(self, trial) -> optuna.samplers.BaseSampler:
        if self._sampler is None:  # trial numbers count every trial the study already holds
            self._sampler = self._make(continued_seed(self._seed, trial.number))
        return self._sampler

    def infer_relative_search_space(self, study, trial):
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values):
        self._for(trial).after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        if self._sampler is not None:
            self._sampler.reseed_rng()


def continued_tpe(seed: int | None = None, **tpe) -> Continued:
    """Optuna's TPE sampler (the sweep presets'), continued: `hydra/sweeper/sampler=tpe_continued`."""
    return Continued(lambda chosen: optuna.samplers.TPESampler(seed=chosen, **tpe), seed)
