"""The named sweeps compose and every configuration of every grid passes the runner's checks; wandb groups the
runs of a sweep and names each by its overrides."""
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from gan_runner.preflight import CONFIG_DIR, check, group_options

GRIDS = [name for name in group_options("sweep") if not name.startswith("optuna_")]


def composed(overrides):
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=True)


@pytest.mark.heavy
@pytest.mark.parametrize("name", GRIDS)
def test_every_job_of_a_grid_is_valid(name):
    params = composed([f"sweep={name}"]).hydra.sweeper.params
    check([f"sweep={name}", *(f"{key}={value}" for key, value in params.items() if key != "seed")])


@pytest.mark.parametrize("name, trial, expected", [
    ("optuna_lr", ["optimizer.beta1=0.9", "optimizer.beta2=0.99"], {"optimizer.kwargs.betas": [0.9, 0.99]}),
    ("optuna_gp", ["constraint.gp.weight=2.5", "optimizer.n_critic=3"],
     {"constraint.gp.weight": 2.5, "optimizer.n_critic": 3, "loss._target_": "gan_runner.losses.Wasserstein"}),
])
def test_an_optuna_trial_is_valid(name, trial, expected):
    check([f"sweep={name}", *trial])
    cfg = composed([f"sweep={name}", *trial])
    for key, value in expected.items():
        assert OmegaConf.select(cfg, key) == value
    assert cfg.hydra.sweeper.storage._target_ == "gan_runner.sweep.storage.sqlite"


def test_wandb_runs_are_grouped_by_sweep_and_named_by_overrides(tmp_path):
    cfg = composed(["logger=wandb", "loss=hinge", "seed=1", f"hydra.sweep.dir={tmp_path / '2026-01-01_sweep'}",
                    "hydra.mode=MULTIRUN"])
    with open_dict(cfg):
        cfg.output_dir = str(tmp_path)
    HydraConfig.instance().set_config(cfg)
    try:
        logger = OmegaConf.to_container(cfg.logger, resolve=True)
    finally:
        HydraConfig.instance().cfg = None
    assert logger["group"] == "2026-01-01_sweep" and logger["offline"]
    assert logger["name"] == "logger=wandb,loss=hinge,seed=1"
