"""Resume: N iterations straight and N/2 + crash + resume + N/2 give identical weights (CPU, fixed seed)."""
import csv

import lightning.pytorch as L
import pytest
import torch

from gan_runner import results
from gan_runner.errors import UserError
from gan_runner.run import run

SETTINGS = ["data=ring", "model=mlp", "model.width=32", "constraint=gp", "optimizer.n_critic=2",
            "trainer.enable_progress_bar=false", "metrics.every_n_steps=3", "metrics.num_samples=300",
            "checkpoint_every_n_steps=3", "trainer.log_every_n_steps=1"]


class Crash(L.Callback):
    """Stands in for a preemption: the process dies right after iteration `at`."""

    def __init__(self, at):
        self.at = at

    def on_train_batch_end(self, trainer, module, *args):
        if module.iteration == self.at:
            raise SystemExit("preempted")


def weights(out):
    state = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    return state["state_dict"], state["optimizer_states"]


def csv_rows(out):
    with (out / "logs" / "metrics.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


# 600 points in batches of 64: 9 batches an epoch, 2 a iteration (n_critic=2), so the crash at iteration 6 is in the
# second epoch and the resumed run crosses two more epoch boundaries, each with its own shuffle.
EPOCHS = ["data.source.n=600", "data.batch_size=64"]


# InfoGAN: a variant with a head of its own on D's trunk (Q) and codes drawn beside the noise; EBGAN: D an
# autoencoder, with a decoder of its own; VAE-GAN: an encoder on G's side, drawing its posterior noise; GLO: no D,
# a code per image stepped by hand (images: the digits at width 4); DeePSiM: G an encoder-decoder of the real batch
# (its fixed comparator, no part of the state, left out)
DIGITS = ["data=digits", "model=dcgan", "model.width=4", "metrics.extractor=random"]
GLO = ["variant=glo", *DIGITS, "constraint=none", "optimizer.lr_g=0.01"]


@pytest.mark.parametrize(
    "data", [[], EPOCHS, ["variant=infogan"], ["variant=ebgan", "loss=energy"], ["variant=vaegan"], GLO,
             ["variant=deepsim", *DIGITS, "variant.feature_weight=0"]],
    ids=["within an epoch", "across epochs", "infogan", "ebgan", "vaegan", "glo", "deepsim"]
)
def test_straight_equals_crash_and_resume(cfg_factory, seeded_cache, tmp_path, monkeypatch, data):
    straight, split = tmp_path / "straight", tmp_path / "split"
    run(cfg_factory([*SETTINGS, *data, "trainer.max_steps=12"], straight))

    original_build = __import__("gan_runner.build", fromlist=["build_trainer"]).build_trainer

    def crashing_build(cfg, out, callbacks):
        return original_build(cfg, out, [Crash(at=6)])

    monkeypatch.setattr("gan_runner.run.build_trainer", crashing_build)
    with pytest.raises(SystemExit):
        run(cfg_factory([*SETTINGS, *data, "trainer.max_steps=12"], split))
    assert results.read(split / "metrics.json")["status"] == "running"
    monkeypatch.undo()
    monkeypatch.setenv("GAN_RUNNER_CACHE", str(tmp_path / "cache"))
    run(cfg_factory([*SETTINGS, *data, "trainer.max_steps=12"], split))

    (sd_a, opt_a), (sd_b, opt_b) = weights(straight), weights(split)
    assert_same(sd_a, sd_b)
    assert "variant=infogan" not in data or any(".heads.q." in key for key in sd_a)  # the checkpoint holds Q
    assert "variant=ebgan" not in data or any(".decoder." in key for key in sd_a)  # and EBGAN's decoder
    assert "variant=vaegan" not in data or any(key.startswith("encoder.") for key in sd_a)  # and VAE-GAN's encoder
    assert "variant=glo" not in data or sd_a["codes"].shape == (1797, 100)  # and GLO's codes
    assert "variant=deepsim" not in data or any(key.startswith("generator.encoder") for key in sd_a)  # G's encoder
    for o_a, o_b in zip(opt_a, opt_b):
        for (_, s_a), (_, s_b) in zip(sorted(o_a["state"].items()), sorted(o_b["state"].items())):
            assert_same(s_a, s_b)
    a, b = results.read(straight / "metrics.json"), results.read(split / "metrics.json")
    assert a["step"] == b["step"] == 12 and b["status"] == "completed"
    assert [h["step"] for h in b["history"]] == [h["step"] for h in a["history"]] == [3, 6, 9]
    assert a["metrics"]["final"] == b["metrics"]["final"]
    # metrics.csv keeps the rows up to the checkpoint resumed from (iteration 3) and drops the crashed process's
    # rows past it, which the resumed run logs again: the log of the straight run, row for row
    assert csv_rows(split) == csv_rows(straight) and len(csv_rows(straight)) == 12 + 3 + 1


def test_a_completed_run_can_be_extended(cfg_factory, tmp_path):
    out = tmp_path / "extend"
    run(cfg_factory([*SETTINGS, "trainer.max_steps=6"], out))
    run(cfg_factory([*SETTINGS, "trainer.max_steps=9"], out))
    straight = tmp_path / "straight9"
    run(cfg_factory([*SETTINGS, "trainer.max_steps=9"], straight))
    assert results.read(out / "metrics.json")["step"] == 9
    assert_same(weights(out)[0], weights(straight)[0])
    # the extended run's log holds the first run's rows too: every iteration's losses, as the straight run's, and
    # the first run's final evaluation at iteration 6 (where the straight run evaluated periodically)
    def losses(rows):
        return [row for row in rows if row["d_loss"]]

    assert losses(csv_rows(out)) == losses(csv_rows(straight)) and len(losses(csv_rows(straight))) == 9
    assert [row["step"] for row in csv_rows(out) if row["final/w1"]] == ["5", "8"]


def test_rerunning_a_completed_run_does_no_work(cfg_factory, tmp_path):
    out = tmp_path / "done"
    first = run(cfg_factory([*SETTINGS, "trainer.max_steps=3"], out))
    stamp = (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    assert run(cfg_factory([*SETTINGS, "trainer.max_steps=3"], out)) == first
    assert (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns == stamp


def test_a_completed_result_is_returned_as_it_is_even_with_a_damaged_checkpoint(cfg_factory, tmp_path):
    out = tmp_path / "done"
    first = run(cfg_factory([*SETTINGS, "trainer.max_steps=3"], out))
    recorded = (out / "metrics.json").read_bytes()
    (out / "checkpoints" / "last.ckpt").write_bytes(b"damaged")
    assert run(cfg_factory([*SETTINGS, "trainer.max_steps=3"], out)) == first
    assert (out / "metrics.json").read_bytes() == recorded
    # the checkpoint matters once training must go on
    with pytest.raises(UserError, match="last.ckpt cannot be resumed"):
        run(cfg_factory([*SETTINGS, "trainer.max_steps=6"], out))
