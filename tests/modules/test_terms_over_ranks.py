"""Every variant's objectives on 2 ranks (gloo, forked in-process) give the gradients of one process with the
global batch: terms that are means over the batch average right by themselves, and those that are functions of a
batch mean (CatGAN's marginal entropies) are gathered over the ranks (distributed.mean_over_ranks).

BatchNorm runs in eval mode here: its batch statistics are per rank by design (trainer.sync_batchnorm), and this
test is about the loss terms."""
import hydra.utils
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gan_runner import distributed
from gan_runner.build import build_module

RANKS, BATCH = 2, 64
NETS = ["data=digits", "model=mlp", "model.width=16", "model.depth=2"]
VARIANTS = {
    "gan": [],
    "cgan, matching-aware": ["variant=cgan", "variant.mismatch=1"],
    "projection": ["variant=projection", "model.g_norm=batch"],
    "acgan, class term on fakes": ["variant=acgan", "variant.fake_class_loss=true"],
    "infogan": ["variant=infogan"],
    "catgan": ["variant=catgan", "variant.marginal_weight=3"],
    "catgan, semi-supervised": ["variant=catgan", "variant.labelled=20"],
}


def build(cfg_factory, overrides):
    cfg = cfg_factory([*NETS, *overrides])
    torch.manual_seed(0)
    data = hydra.utils.instantiate(cfg.data.source)
    module = build_module(cfg, data)
    data = module.training_data(data)
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    index = torch.arange(BATCH) * 13 % len(data)
    return module, data.samples(index), data.y[index] if module.num_classes else None


def gradients(module, real, labels) -> dict[str, torch.Tensor]:
    """D's gradients of D's objective and G's of G's, averaged over the ranks as the training step does."""
    grads = {}
    for player, net, objective, train_generator in (("d", module.discriminator, module.d_objective, False),
                                                    ("g", module.generator, module.g_objective, True)):
        torch.manual_seed(1)  # the same latents (each rank keeps its rows of the global batch's: draws.py)
        batch = module._play(real, labels, train_generator)
        module.zero_grad(set_to_none=True)
        objective(batch)[0].backward()
        named = [(name, p) for name, p in net.named_parameters() if p.grad is not None]
        distributed.average_gradients([p for _, p in named])
        grads.update({f"{player}.{name}": p.grad.clone() for name, p in named})
    return grads


def rank_main(rank, module, real, labels, store, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=RANKS)
    try:
        rows = slice(rank * BATCH // RANKS, (rank + 1) * BATCH // RANKS)
        grads = gradients(module, real[rows], None if labels is None else labels[rows])
        if rank == 0:
            torch.save(grads, out)
    finally:
        dist.destroy_process_group()


def assert_ranks_match_one_process(cfg_factory, tmp_path, overrides):
    module, real, labels = build(cfg_factory, overrides)
    mp.start_processes(rank_main, args=(module, real, labels, tmp_path / "store", tmp_path / "grads.pt"),
                       nprocs=RANKS, start_method="fork")
    two, one = torch.load(tmp_path / "grads.pt"), gradients(module, real, labels)
    assert two.keys() == one.keys() and {k[0] for k in one} == {"d", "g"}
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-7, msg=key)


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=VARIANTS.keys())
def test_two_ranks_give_the_gradients_of_one_process_with_the_global_batch(cfg_factory, tmp_path, overrides):
    assert_ranks_match_one_process(cfg_factory, tmp_path, overrides)


def test_ragan_compares_with_the_mean_scores_of_the_global_batch(cfg_factory, tmp_path):
    assert_ranks_match_one_process(cfg_factory, tmp_path, ["loss=ragan"])
