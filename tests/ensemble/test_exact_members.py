"""Member k of an ensemble ends 30 iterations with the weights of seed k's run alone.

Tolerance 1e-5: the stacked nets sum in another order than the plain ones (a batched matrix product, a grouped
convolution), about 1e-7 relative per operation in float32; after 30 iterations the largest difference measured in these
cases is 2.4e-7, over every tensor of the state dict (the Wasserstein case with clipping is bit-equal). Where a gradient
has a kink, rounding may pick its other side: with [sn,gn] (GN's |f| at f = 0) one member was 1.6e-5 apart after 30
iterations, 1.2e-7 after 25. A gradient that leaked between members, a draw taken from another member's stream or a loss
not summed over members moves weights by far more (mutations listed in the README).
"""
import hydra.utils
import lightning.pytorch as L
import pytest
import torch

from gan_runner.build import build_module
from gan_runner.data.stream import BatchStream
from gan_runner.ensemble.module import EnsembleGAN
from gan_runner.ensemble.stream import EnsembleStream

SEEDS = [3, 5, 11]
STEPS = 30
MLP = ["data=ring", "model=mlp", "model.width=16", "model.z_dim=4", "data.batch_size=16", "optimizer=adam"]
DCGAN = ["data=digits", "model=dcgan", "model.width=4", "model.z_dim=8", "data.batch_size=8", "optimizer=adam"]


def _fit(module, stream) -> None:
    L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu", log_every_n_steps=10).fit(module, stream)


def alone(cfg, seed: int):
    """What run.py does with seed `seed` (seed, data, module, batch stream, fit), without its folder."""
    L.seed_everything(seed, verbose=False)
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data)
    _fit(module, BatchStream(data, cfg.data.batch_size, module.n_critic, STEPS, seed))
    return module


def together(cfg, seeds=SEEDS) -> tuple[EnsembleGAN, object]:
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data, ensemble_seeds=seeds)
    streams = [BatchStream(data, cfg.data.batch_size, module.n_critic, STEPS, seed) for seed in seeds]
    _fit(module, EnsembleStream(streams))
    return module, data


def assert_members_ran_alone(cfg, ensemble, data, members=(0, 1, 2)):
    for k in members:
        solo = alone(cfg, SEEDS[k])
        mine = ensemble.copy_member(k, build_module(cfg, data)).state_dict()
        theirs = solo.state_dict()  # G, D, the EMA of G, BatchNorm's statistics and counts
        assert mine.keys() == theirs.keys()
        for name in theirs:
            torch.testing.assert_close(mine[name], theirs[name], rtol=1e-5, atol=1e-5, msg=f"member {k}: {name}")
        for name in ("d_loss", "g_loss"):  # the last iteration's losses, as each member's log shows them
            torch.testing.assert_close(ensemble.member_logs[name][k], solo.trainer.callback_metrics[name])


CASES = {
    "mlp ns": MLP,
    "mlp hinge gp n_critic 2": [*MLP, "loss=hinge", "constraint=[gp]", "optimizer.n_critic=2"],
    "mlp wasserstein clip rmsprop": [*MLP, "loss=wasserstein", "constraint=[clip]", "optimizer=rmsprop"],
    # SGD: unlike Adam and RMSprop, its step follows the gradient's scale (a loss not summed over members shows)
    "mlp r1 noise simultaneous sgd": [*MLP, "constraint=[r1,noise]", "optimizer=sgd", "optimizer.update=simultaneous"],
    # RaGAN, a function of each member's batch means, ignores a shift of all scores: D's last biases get gradients
    # that are rounding noise, which Adam scales up to full steps (5e-4 apart after 30 iterations); SGD leaves them
    # noise (1.5e-8)
    "mlp ragan lp sgd": [*MLP, "loss=ragan", "constraint=[lp]", "optimizer=sgd"],
    "mlp sn": [*MLP, "constraint=[sn]"],  # each member its own power iteration (StackedSpectralNorm)
    "mlp packs of 2 gp": [*MLP, "model.pack=2", "constraint=[gp]"],  # a member's packs: its own rows, its own eps
    # PacGAN's toy nets, smaller: maxout D (StackedMaxout), G without hidden biases, packs of 2, simultaneous steps
    "pacgan toy maxout": ["data=ring", "model=pacgan_toy", "model.generator.width=16", "model.discriminator.width=8",
                          "model.pack=2", "data.batch_size=16", "optimizer=adam", "optimizer.update=simultaneous"],
    "dcgan batchnorm": [*DCGAN, "model.d_norm=batch"],
    # PacGAN's Stacked MNIST recipe, smaller: 5x5 kernels, packs of 2 as channels, U(-1, 1) z, two G steps. LayerNorm
    # in D, not the recipe's BatchNorm: the bias of a conv under BatchNorm has a zero gradient in exact arithmetic, and
    # Adam scales its rounding noise to full steps (2e-3 apart after 30 iterations, with no effect on any output);
    # G's BatchNorm layers are stacked as D's would be
    "dcgan_tf packs of 2 two g steps": ["data=digits", "model=dcgan_tf", "model.width=4", "model.z_dim=8",
                                        "model.stages=2", "model.pack=2", "model.d_norm=layer", "data.batch_size=8",
                                        "optimizer=adam", "optimizer.g_steps=2"],
    "dcgan sn hinge layernorm": [*DCGAN, "constraint=[sn]", "loss=hinge", "model.d_norm=layer"],
    # labels concatenated to z and to D's input channels; matching-aware D: wrong labels drawn per member
    "dcgan cgan mismatch": [*DCGAN, "variant=cgan", "variant.mismatch=0.5"],
}


@pytest.mark.parametrize("case", CASES)
def test_each_member_ends_where_its_seed_alone_ends(cfg_factory, case):
    cfg = cfg_factory(CASES[case])
    assert_members_ran_alone(cfg, *together(cfg))


@pytest.mark.parametrize("poison, overrides", [
    ("nan", []),  # a NaN weight
    ("inf loss", ["loss=ls"]),  # finite weights whose loss is infinite (LSGAN squares a score of 1e20): as alone
])
def test_a_member_that_diverges_stops_alone(cfg_factory, poison, overrides):
    """Member 1 is poisoned before training: it is recorded diverged, and members 0 and 2 end as they would alone."""
    cfg = cfg_factory([*MLP, *overrides])
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data, ensemble_seeds=SEEDS)
    with torch.no_grad():
        if poison == "nan":
            next(module.discriminator.parameters())[1, 0, 0] = float("nan")
        else:
            module.discriminator.stacked.head.bias[1] = 1e20
    _fit(module, EnsembleStream([BatchStream(data, cfg.data.batch_size, 1, STEPS, seed) for seed in SEEDS]))
    assert module.diverged == {1: 1}  # found at the first check, after iteration 1
    assert_members_ran_alone(cfg, module, data, members=[0, 2])


def test_the_default_runs_nets_are_member_exact_in_float64(cfg_factory, monkeypatch):
    """The default run (dcgan_fc on 28 px mnist5k, width 32, batch 64, G's lr 1e-3): in float32 member 0 drifts up to
    3e-3 from seed 0 alone within 30 iterations, rounding that Adam and the game amplify (1.7e-4 with SGD; width 4 is
    exact to 1e-7); in float64 the two agree to 1e-13, so the stacked nets compute what the plain ones do. Batches of
    16 (the nets are the default run's; the batch scales the cost), where float32 losses summed in another order
    left them 1e-8 apart before a float64 run's scores stayed float64."""
    def fit64(module, stream):
        L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                  enable_model_summary=False, accelerator="cpu", log_every_n_steps=10,
                  precision="64-true").fit(module, stream)

    monkeypatch.setattr(f"{__name__}._fit", fit64)
    cfg = cfg_factory(["data.batch_size=16"])
    ensemble, data = together(cfg, seeds=SEEDS[:2])
    solo = alone(cfg, SEEDS[0]).state_dict()
    mine = ensemble.copy_member(0, build_module(cfg, data).double()).state_dict()
    for name in solo:
        torch.testing.assert_close(mine[name], solo[name], rtol=1e-10, atol=1e-10, msg=name)
