"""hydra/launcher=slurm: the batch script submitit writes, kept by a stand-in `sbatch` that refuses it (submitit
checks that srun exists, so a stand-in of that too; neither ever runs anything)."""
import os

from conftest import run_cli

REFUSE = "#!/bin/sh\necho 'sbatch: error: no cluster here' >&2\nexit 1\n"


def batch_script(tmp_path, args) -> str:
    """The batch script submitit would submit for `gan-runner -m hydra/launcher=slurm args...`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).write_text(REFUSE)
        (bin_dir / tool).chmod(0o755)
    sweep = tmp_path / f"sweep{len(list(tmp_path.iterdir()))}"
    out = run_cli(["-m", "hydra/launcher=slurm", f"hydra.sweep.dir={sweep}", *args], tmp_path,
                  env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert out.returncode != 0 and "no cluster here" in out.stderr + out.stdout
    [script] = (sweep / ".submitit").glob(".submission_file_*.sh")
    return script.read_text()


def test_batch_script(tmp_path):
    """GPUs asked for (the login node has none: they are the compute nodes'), 2 nodes x 4 tasks as Lightning needs."""
    text = batch_script(tmp_path, ["hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=90",
                                   "trainer.devices=4", "trainer.num_nodes=2", "trainer.accelerator=gpu",
                                   "loss=ns,hinge"])
    for line in ["#SBATCH --partition=gpu", "#SBATCH --time=90", "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4",
                 "#SBATCH --gpus-per-node=4", "#SBATCH --cpus-per-task=8", "#SBATCH --array=0-1%2",
                 "#SBATCH --signal=USR2@120", "#SBATCH --job-name=gan-runner"]:
        assert line in text.splitlines(), f"{line!r} not in\n{text}"
    assert "srun" in text and "-m submitit.core._submit" in text


def test_cpu_jobs_ask_for_no_gpu(tmp_path):
    text = batch_script(tmp_path, ["trainer.accelerator=cpu", "trainer.devices=2", "loss=ns,hinge"])
    assert "#SBATCH --ntasks-per-node=2" in text.splitlines() and "#SBATCH --nodes=1" in text.splitlines()
    assert "gpus" not in text


def test_lightning_leaves_requeueing_to_submitit(cfg_factory, tmp_path, monkeypatch):
    """Inside a SLURM task Lightning's own requeue would compete with submitit's (DESIGN.md pitfall 3)."""
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    from gan_runner.build import build_trainer

    for key, value in {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "gan-runner", "SLURM_NODELIST": "node1",
                       "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0"}.items():
        monkeypatch.setenv(key, value)
    cfg = cfg_factory(["data=ring", "model=mlp", "trainer.accelerator=cpu"])
    environment = build_trainer(cfg, tmp_path, [])._accelerator_connector.cluster_environment
    assert isinstance(environment, SLURMEnvironment) and environment.auto_requeue is False
