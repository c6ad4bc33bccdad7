"""hydra/launcher=ensemble: the jobs of a sweep that differ only in their seed train together as one vectorized
model (gan_runner/ensemble/), then every job runs as with the basic launcher, those trained together returning their
recorded results. Hydra takes launchers only from the hydra_plugins package: this is the plugin's thin shell."""
from collections.abc import Sequence

from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.utils import JobReturn


class EnsembleLauncher(BasicLauncher):
    def __init__(self, max_members: int = 32) -> None:
        super().__init__()
        self.max_members = max_members

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from gan_runner.ensemble.launch import train_groups

        train_groups(self.hydra_context, self.config, job_overrides, initial_job_idx, self.max_members)
        return super().launch(job_overrides, initial_job_idx)
