"""Several devices for one GAN: Lightning's DDP strategy without the DistributedDataParallel wrapper.

The module averages each player's gradients itself (distributed.average_gradients). The other ranks are started as
`python -m gan_runner.rank <run dir>/config.yaml`: the resolved configuration that rank 0 wrote, not Hydra's command
line, so that a job of a multirun starts its own ranks (re-running the command line would start the whole sweep).
On SLURM the ranks are SLURM's tasks, and nothing is started here.

No rank waits forever: joining the process group at the start waits as long as Lightning lets it (30 minutes: a
rank may take long to start on a busy node), then every collective waits at most trainer.ddp_timeout_s and a
failed one ends the rank in one line (distributed.answered). When rank 0 fails, it ends the ranks it started at
once; when another rank fails, Lightning's observer of those ranks ends rank 0.
"""
import os
import subprocess
import sys

import torch.distributed as dist
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

from gan_runner import distributed

_LAUNCH_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


class ConfigLauncher(_SubprocessScriptLauncher):
    """Starts ranks 1.. of this node on the saved configuration of the run."""

    def __init__(self, cluster_environment, num_processes: int, num_nodes: int, config_path: str):
        super().__init__(cluster_environment, num_processes, num_nodes)
        self.config_path = config_path
        self.saved_environment: dict[str, str | None] = {}

    def _call_children_scripts(self) -> None:
        self._check_can_spawn_children()
        self.saved_environment = {k: os.environ.get(k) for k in _LAUNCH_VARIABLES}
        env = self.cluster_environment
        os.environ.update(MASTER_ADDR=env.main_address, MASTER_PORT=str(env.main_port), NODE_RANK=str(env.node_rank()),
                          LOCAL_RANK=str(env.local_rank()), WORLD_SIZE=str(self.num_processes * self.num_nodes))
        self.procs = [subprocess.Popen([sys.executable, "-m", "gan_runner.rank", self.config_path],
                                       env={**os.environ, "LOCAL_RANK": str(rank)})
                      for rank in range(1, self.num_processes)]

    def end_ranks(self) -> None:
        """Kill the ranks started here (one that is stuck would never end by itself). They leave the list that
        Lightning's observer watches first: it would kill this process too, for their exit codes."""
        procs, self.procs[:] = list(self.procs), []
        for proc in procs:
            proc.kill()
            proc.wait()

    def restore_environment(self) -> None:
        """A joblib worker runs the next job in this process: left set, LOCAL_RANK would tell Lightning that the
        ranks of that job are already started."""
        for key, value in self.saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class HandSyncedDDP(DDPStrategy):
    """DDP whose ranks each hold the whole module unwrapped; gradients are averaged by the GAN module."""

    strategy_name = "gan_runner_ddp"

    def __init__(self, config_path: str, timeout_s: float, **kwargs):
        super().__init__(**kwargs)
        self.config_path, self.timeout_s = config_path, timeout_s

    def setup_distributed(self) -> None:
        super().setup_distributed()
        distributed.set_timeout(self.timeout_s)

    def configure_ddp(self) -> None:
        """No DistributedDataParallel: its hooks would average D's gradients in G's backward and complain about the
        player that did not take part (DESIGN.md pitfall 15)."""

    def _configure_launcher(self) -> None:
        self._launcher = ConfigLauncher(self.cluster_environment, self.num_processes, self.num_nodes, self.config_path)

    def barrier(self, *args, **kwargs) -> None:
        with distributed.answered():
            super().barrier(*args, **kwargs)

    def broadcast(self, obj, src: int = 0):
        with distributed.answered():
            return super().broadcast(obj, src)

    def on_exception(self, exception: BaseException) -> None:
        """Rank 0 stops training: the ranks it started would wait for it until the timeout, or forever if stuck."""
        super().on_exception(exception)
        if isinstance(self._launcher, ConfigLauncher):
            self._launcher.end_ranks()

    def teardown(self) -> None:
        super().teardown()
        # The next job of this process starts a process group of its own.
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        if isinstance(self._launcher, ConfigLauncher):
            self._launcher.restore_environment()
