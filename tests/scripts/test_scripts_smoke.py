"""Every script under scripts/ runs at a tiny size, so that a change of the runner's layout or interface (job folders,
metrics.json, config keys) breaks a test, not a measurement.

Scripts that start gan-runner commands or worker processes run as a user runs them, `python scripts/<name>.py`, two
at a time (this machine's cores: most of their time is each process importing torch and Lightning), or one per test
under pytest-xdist (`make test`), whose workers already run side by side. The others run in this process, where
torch and Lightning are loaded already, through runpy as `__main__`, on one thread.
"""
import os
import runpy
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

SCRIPTS = Path(__file__).parents[2] / "scripts"
COVERED_ELSEWHERE = {"thread_gradients.py": "tests/test_thread_gradients.py"}
AT_ONCE = 2

# script -> (arguments at a tiny size, {tmp} standing for a folder of its own; text its output must hold)
OWN_PROCESS = {
    "bench_sweep.py": (["--steps", "2", "--jobs", "1", "metrics.num_samples=100"], "parallel speedup: "),
    # --baseline runs the same job with another checkout's code on PYTHONPATH: left out
    "bench_folder.py": (["{tmp}/images", "--n", "600", "--size", "8", "--steps", "1", "--jobs", "0"],
                        "one job, cached"),
    # toy data: labelled images would train the LeNet classifier first, the most costly part of a tiny run
    "variants_proof.py": (["gan", "--seeds", "0", "--out", "{tmp}/out", "--docs", "{tmp}",
                           *(f"--override={o}" for o in ("data=ring", "model=mlp", "trainer.max_steps=2",
                                                         "metrics.num_samples=100"))],
                          "| `gan` | fid (reported) |"),
    "default_run_study.py": (["bn", "--seeds", "0,1", "--out", "{tmp}/out", "--docs", "{tmp}",
                              *(f"--override={o}" for o in ("data=ring", "model=mlp", "trainer.max_steps=2",
                                                            "metrics.num_samples=100"))],
                             "study of 1 candidates: "),
    "catalogue_toy.py": (["--steps", "2", "--seeds", "2", "--jobs", "1", "--losses", "likelihood_ratio:exponential",
                          "--constraints", "none",
                          "--ensemble", "--out", "{tmp}/out", "--docs", "{tmp}"],
                         "| likelihood_ratio:exponential | none |"),
    "bench_ensemble_runner.py": (["--ks", "2", "--threads", "1", "--nets", "toy", "--steps", "4", "--catalogue", "2",
                                  "--catalogue-steps", "2", "--constraints", "none", "--memory", "toy:2"],
                                 "| toy | 2 | "),
    "repro_pacgan.py": (["--steps", "2", "--every", "1", "--trials", "2", "--packs", "2", "--data", "ring", "--jobs",
                         "1", "--out", "{tmp}/out", "--docs", "{tmp}"], "| PacGAN2 | "),
    "sampler_study.py": (["--ring-seeds", "2", "--data", "ring", "--jobs", "1", "--override", "trainer.max_steps=2",
                          "--out", "{tmp}/out", "--docs", "{tmp}"], "| ring | w1 (lower) | "),
    "dirac_table.py": (["--losses", "minimax", "--methods", "none", "--time", "1", "--jobs", "1", "--out",
                        "{tmp}/out", "--docs", "{tmp}"], "6 runs in"),
    "shapes_folder.py": (["{tmp}/images", "--n", "4", "--size", "8"], "4 images of 8 px in"),
    # last: they need the session's digits LeNet, which worker gw0 trains while the others run
    "semisupervised_proof.py": (["--labelled", "1", "--seeds", "1", "--jobs", "1", "--out", "{tmp}/out", "--docs",
                                 "{tmp}", *(f"--override={o}" for o in (
                                     "data=digits", "model.width=4", "trainer.max_steps=2", "metrics.extractor=random",
                                     "metrics.num_samples=100", "metrics.kid_subset_size=50"))],
                                "| 1/1 |"),  # the ratio's table: tests/scripts/test_semisupervised_proof.py
    "arms_study.py": (["cascade", "--arms", "K2", "--seeds", "1", "--jobs", "1", "--out", "{tmp}/out",
                       "--docs", "{tmp}", *(f"--override={o}" for o in (
                           "data=digits", "model.width=4", "trainer.max_steps=2", "metrics.extractor=random",
                           "metrics.num_samples=100", "metrics.kid_subset_size=50"))],
                      "| seeds completed | 1/1 |"),  # the table's numbers: tests/scripts/test_arms_study.py
}
# scripts whose tiny runs score the 8 px digits' classes: their cache starts with the session's digits LeNet, which
# each would otherwise train first (most of a tiny run's time)
SCORE_DIGIT_CLASSES = {"semisupervised_proof.py", "arms_study.py"}
IN_PROCESS = {
    "bench_overhead.py": (["--steps", "2", "--rounds", "1", "data=ring", "model=mlp"],
                          "overhead ratio (runner/plain steps per s): "),
    "bench_ensemble.py": (["--ks", "2", "--threads", "1", "--steps", "1", "--rounds", "1", "--nets", "toy"],
                          "| toy | 1 | 2 |"),
    "bench_foreach.py": (["--rounds", "1", "--steps", "2", "--only", "toy ring"], "toy ring, MLP 64"),
    "fid_scale.py": (["--data", "digits", "--n", "100", "--extractor", "random", "--cache", "{tmp}/cache"],
                     "real vs uniform noise"),
}


def arguments(args: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in args]


def lenet_cache(request, name: str) -> Path | None:
    """The session's digits LeNet folder for a script that needs it, asked for only then: under xdist worker gw0
    trains it first while this file's heavy tests start on the other worker, which must not wait for it."""
    return request.getfixturevalue("digits_lenet").cache if name in SCORE_DIGIT_CLASSES else None


def own_process(name: str, tmp: Path, lenet_cache: Path | None) -> subprocess.CompletedProcess:
    tmp.mkdir(parents=True)
    if lenet_cache is not None:
        shutil.copytree(lenet_cache, tmp / "cache")
    # one thread each: tiny runs gain nothing from more, and the suite shares the cores
    env = {**os.environ, "GAN_RUNNER_CACHE": str(tmp / "cache"), "WANDB_MODE": "offline", "WANDB_SILENT": "true",
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPTS / name), *arguments(OWN_PROCESS[name][0], tmp)],
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=600)


@pytest.fixture(scope="module")
def started(request, tmp_path_factory):
    """The selected own-process scripts, AT_ONCE at a time, from the first test of this file that runs a script
    (the in-process ones run meanwhile); none under xdist, whose every worker would start them all."""
    selected = [] if "PYTEST_XDIST_WORKER" in os.environ else [
        item.callspec.params["name"] for item in request.session.items
        if item.originalname == "test_a_script_runs_in_its_own_process"]
    root = tmp_path_factory.mktemp("scripts")
    pool = ThreadPoolExecutor(AT_ONCE)
    yield {name: pool.submit(own_process, name, root / name.removesuffix(".py"), lenet_cache(request, name))
           for name in selected}
    pool.shutdown(cancel_futures=True)  # after a failure with -x: the scripts not started yet never start


def test_every_script_has_a_smoke_test():
    assert {p.name for p in SCRIPTS.glob("*.py")} == set(OWN_PROCESS) | set(IN_PROCESS) | set(COVERED_ELSEWHERE)


@pytest.mark.parametrize("name", IN_PROCESS)
def test_a_script_runs_in_this_process(name, started, tmp_path, monkeypatch, capsys):
    args, expected = IN_PROCESS[name]
    monkeypatch.setattr(sys, "argv", [name, *arguments(args, tmp_path)])
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the scripts import each other, as from their own folder
    monkeypatch.setenv("GAN_RUNNER_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runpy.run_path(str(SCRIPTS / name), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    assert expected in capsys.readouterr().out


@pytest.mark.heavy
@pytest.mark.parametrize("name", OWN_PROCESS)
def test_a_script_runs_in_its_own_process(name, started, tmp_path, request):
    done = started[name].result() if name in started else own_process(name, tmp_path / "run",
                                                                      lenet_cache(request, name))
    assert done.returncode == 0, done.stderr[-3000:]
    assert OWN_PROCESS[name][1] in done.stdout
