"""Packing (model.pack = m): D is built for m joined samples and scores each pack of m consecutive rows once; a
penalty takes one point per pack (the gradient of the joined input); real packs are m different samples."""
import hydra.utils
import pytest
import torch

from gan_runner import results
from gan_runner.build import build_module
from gan_runner.data.stream import BatchStream
from gan_runner.errors import UserError
from gan_runner.modules.sides import Batch, Side
from gan_runner.nets.packing import per_slot
from gan_runner.run import run
from gan_runner.validate import validate

RING = ["data=ring", "model=mlp", "model.width=16", "model.z_dim=4", "data.batch_size=12"]


def module_of(cfg_factory, *overrides):
    cfg = cfg_factory([*RING, *overrides])
    torch.manual_seed(0)
    return build_module(cfg, hydra.utils.instantiate(cfg.data.source)), cfg


@pytest.mark.parametrize("overrides, first_layer", [
    (["model.pack=3"], ("trunk.1", 6)),  # 2-D points: 3 x 2 features
    (["data=digits", "model=dcgan", "model.width=4", "model.pack=2", "data.batch_size=8"], ("trunk.0", 2)),
])
def test_d_is_built_for_packs_and_scores_each_pack_once(cfg_factory, overrides, first_layer):
    module, cfg = module_of(cfg_factory, *overrides)
    m = cfg.model.pack
    layer = module.discriminator.get_submodule(first_layer[0])
    assert (layer.in_features if hasattr(layer, "in_features") else layer.in_channels) == first_layer[1]
    x = torch.randn(4 * m, *cfg.data.shape)
    joined = x.reshape(4, m * x.shape[1], *x.shape[2:])  # pack i = rows i*m .. i*m + m - 1, side by side
    torch.testing.assert_close(module.critic(x), module.discriminator(joined))
    # a sample's score for pictures: that of a pack of m copies of it
    torch.testing.assert_close(module.point_scores(x[:2]), module.critic(x[:2].repeat_interleave(m, 0)))


def test_a_penalty_takes_the_gradient_of_each_packs_joined_input(cfg_factory):
    module, _ = module_of(cfg_factory, "model.pack=3", "constraint=[r1]")
    real, fake = torch.randn(12, 2), torch.randn(12, 2)
    _, logs = module.d_objective(Batch(Side(real, None), Side(fake, None), torch.randn(12, 4)))
    joined = real.reshape(4, 6).requires_grad_(True)
    grad, = torch.autograd.grad(module.discriminator(joined).sum(), joined)
    expected = 0.5 * 10.0 * grad.pow(2).sum(1).mean()  # R1's gamma/2 E ||grad||^2, one term per pack
    torch.testing.assert_close(logs["R1"], expected)


def test_a_real_pack_holds_different_samples_with_unrelated_labels(mnist5k):
    """Real packs are consecutive rows of a shuffled epoch: never one sample twice, labels as unrelated as chance
    (two slots of a pack agree in about a tenth of the packs, as two independent digits do)."""
    stream = BatchStream(mnist5k, 64, 1, 78, seed=0)
    agree = []
    for t in range(78):  # one epoch
        idx = stream._indices(t).reshape(-1, 2)
        assert (idx[:, 0] != idx[:, 1]).all()
        labels = mnist5k.labels(idx)
        agree.append((labels[:, 0] == labels[:, 1]).float())
    rate = torch.cat(agree).mean().item()
    assert 0.07 < rate < 0.13, rate  # 2,496 packs: chance ~0.10 +- 0.006


@pytest.mark.parametrize("overrides, message", [
    (["model.pack=5"], "data.batch_size=12 is not a whole number of packs of model.pack=5: pass a multiple of 5"),
    (["model.pack=0"], "model.pack=0 is not a number of samples per pack"),
    (["data=digits", "model.pack=2", "variant=acgan"], "model.pack=2 packs the samples of the plain GAN's D"),
])
def test_impossible_packs_are_refused_in_one_line(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(cfg_factory([*RING, *overrides]))


def test_a_packed_run_with_a_penalty_trains_and_evaluates(cfg_factory, tmp_path):
    run(cfg_factory([*RING, "model.pack=3", "constraint=gp", "trainer.max_steps=4", "metrics.every_n_steps=2",
                     "metrics.num_samples=100", "trainer.enable_progress_bar=false"], tmp_path / "run"))
    result = results.read(tmp_path / "run" / "metrics.json")
    assert result["status"] == "completed" and {"modes", "w1", "critic_w1"} <= set(result["metrics"]["final"])
    assert (tmp_path / "run" / "samples" / "final.png").exists()


def test_g_makes_each_pack_slots_samples_in_a_call_of_its_own(cfg_factory):
    """As the authors' code runs G once per slot: G's BatchNorm normalizes each slot's B/m rows (rows j, j+m, ...),
    and the samples come back in the latents' order."""
    module, _ = module_of(cfg_factory, "model.pack=3", "model.g_norm=batch")
    sizes = []
    norm = next(m for m in module.generator.modules() if isinstance(m, torch.nn.BatchNorm1d))
    norm.register_forward_hook(lambda mod, inputs, output: sizes.append(len(inputs[0])))
    torch.manual_seed(1)
    batch = module._play(torch.randn(12, 2), None, train_generator=False)
    assert sizes == [4, 4, 4]
    module.eval()  # running statistics: each sample alone, so slot by slot or all at once give the same samples
    torch.testing.assert_close(per_slot(module.generate, batch.z, 3), module.generate(batch.z))
