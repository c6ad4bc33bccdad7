"""hydra/launcher=cpus runs jobs side by side on one thread each; hydra/launcher=gpus gives each job its own slot."""
import itertools
import json

import pytest
from conftest import job_dirs

from gan_runner import results


def job_records(sweep):
    return [results.read(d / "metrics.json") for d in job_dirs(sweep)]


@pytest.mark.heavy
def test_parallel_cpu_grid(gan_runner, tmp_path):
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", "hydra/launcher=cpus", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}",
                      "loss=ns,hinge", "seed=0,1"], env={"OMP_NUM_THREADS": "2"})  # the launcher must bring it to 1
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = job_records(sweep)
    assert [j["status"] for j in jobs] == ["completed"] * 4
    assert "Warning" not in out.stdout + out.stderr  # the workers are as quiet as a single run
    assert {j["job"]["threads"] for j in jobs} == {1}  # 2 jobs x 1 thread on 2 cores
    assert len({j["job"]["pid"] for j in jobs}) == 2
    spans = [(j["job"]["started_at"], j["job"]["ended_at"], j["job"]["pid"]) for j in jobs]
    overlapping = [(a, b) for a, b in itertools.combinations(spans, 2) if a[2] != b[2] and a[0] < b[1] and b[0] < a[1]]
    assert overlapping, f"no two jobs ran at the same time: {spans}"


@pytest.mark.heavy
def test_gpu_slots_are_never_shared(gan_runner, tmp_path):
    """Four jobs over two simulated GPU slots: each job holds one slot and no two jobs hold one slot at once
    (test_sweep_slots.py checks which GPU each slot shows its job)."""
    sweep = tmp_path / "sweep"
    out = gan_runner(["-m", "hydra/launcher=gpus", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}",
                      "seed=0,1,2,3"], env={"CUDA_VISIBLE_DEVICES": ""})  # simulated even where GPUs exist
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = [j["job"] for j in job_records(sweep)]
    assert len(jobs) == 4 and {j["slot"] for j in jobs} == {0, 1}, json.dumps(jobs, indent=1)
    for job in jobs:
        assert job["device"] is None  # no GPU visible: simulated slots, and CUDA_VISIBLE_DEVICES stays hidden
        assert job["claimed_at"] <= job["started_at"] + 60 and job["claimed_at"] < job["released_at"]
    for a, b in itertools.combinations(jobs, 2):
        if a["slot"] == b["slot"]:
            assert a["released_at"] < b["claimed_at"] or b["released_at"] < a["claimed_at"], (a, b)


@pytest.mark.heavy
def test_gpu_launcher_without_gpus_is_one_line(gan_runner, tmp_path):
    out = gan_runner(["-m", "hydra/launcher=gpus", "seed=0,1"], env={"CUDA_VISIBLE_DEVICES": ""})
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "gan-runner: error: hydra/launcher=gpus found no GPU: set hydra.launcher.n_jobs=N to simulate N GPU slots"]
    assert not (tmp_path / "outputs").exists()
