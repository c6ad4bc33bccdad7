"""What an ensemble leaves in each member's folder and logger, and what it refuses, beside a run alone."""
import os
import time

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan_runner import results
from gan_runner.ensemble.run import train_together
from gan_runner.ensemble.support import unsupported
from gan_runner.run import run

TOY = ["data=ring", "model=mlp", "model.width=16", "model.z_dim=4", "data.batch_size=16", "optimizer=adam",
       "trainer.max_steps=4", "metrics.every_n_steps=2", "metrics.num_samples=100", "trainer.log_every_n_steps=2",
       "trainer.enable_progress_bar=false"]


def test_a_members_logger_shows_what_its_seed_alone_shows(cfg_factory, tmp_path):
    """TensorBoard: the same losses, W1 estimate and pictures at the same steps as seed 1 alone; a seed given twice is
    one folder, trained once; instance noise's schedule reaches the members' evaluations (critic_w1 reads it)."""
    settings = [*TOY, "logger=tensorboard", "constraint=[noise]", "constraint.noise.anneal_steps=4"]
    cfgs = [cfg_factory([*settings, f"seed={s}"], tmp_path / f"seed{s}") for s in (0, 1, 1)]
    assert train_together(cfgs) is None
    run(cfg_factory([*settings, "seed=1"], tmp_path / "alone"))
    member, alone = (EventAccumulator(str(tmp_path / d / "logs"), size_guidance={"images": 0, "scalars": 0})
                     for d in ("seed1", "alone"))
    member.Reload()
    alone.Reload()
    record = results.read(tmp_path / "seed1" / "metrics.json")
    assert record["ensemble"] == {"seeds": [0, 1]} and "process" not in record
    job = record["job"]  # the process that trained it, as a sweep job's record names its own
    assert job["pid"] == os.getpid() and job["threads"] == torch.get_num_threads()
    assert job["process_started_at"] <= job["started_at"] < job["ended_at"] <= time.time()
    for tag in ("d_loss", "g_loss", "w_estimate", "eval/critic_w1", "final/critic_w1"):
        got, expected = member.Scalars(tag), alone.Scalars(tag)
        assert [e.step for e in got] == [e.step for e in expected], tag
        assert [e.value for e in got] == pytest.approx([e.value for e in expected], rel=1e-4, abs=1e-6), tag
    assert [e.step for e in member.Images("samples")] == [e.step for e in alone.Images("samples")] != []


@pytest.mark.parametrize("overrides, reason", [
    (["optimizer.cls=torch.optim.Adafactor"], "optimizer.cls=torch.optim.Adafactor: only optimizers that update"),
    (["data=digits", "model=dcgan", "variant=cgan", "variant.mismatch=0.5", "loss=ragan"],
     "variant.mismatch > 0 with loss=ragan"),
    (["trainer.num_nodes=2"], "trainer.devices or trainer.num_nodes > 1"),
    (["constraint=[dragan]", "constraint.dragan.mode=code"], "constraint.dragan.mode=code"),
    (["data=digits", "model=dcgan", "variant=acgan"], "variant=acgan: its heads and label embeddings"),
])
def test_what_an_ensemble_cannot_train_exactly_is_refused_with_its_reason(cfg_factory, overrides, reason):
    assert unsupported(cfg_factory([*TOY, *overrides])).startswith(reason)


def test_optimizers_and_losses_an_ensemble_takes_are_not_refused(cfg_factory):
    for overrides in (["optimizer=rmsprop"], ["optimizer=sgd"], ["optimizer.cls=torch.optim.NAdam"], ["loss=ragan"],
                      ["constraint=[sn,gp]"], ["model.pack=2"]):
        assert unsupported(cfg_factory([*TOY, *overrides])) is None, overrides
