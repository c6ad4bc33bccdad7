"""Every named preset composes with the paper's settings, passes validation and takes a training step."""
from pathlib import Path

import pytest
import torch

from gan_runner.validate import validate

PRESETS = sorted(p.stem for p in (Path(__file__).parents[1] / "gan_runner" / "conf" / "experiment").glob("*.yaml"))
REQUIRED = {"gan_2014", "dcgan", "lsgan", "wgan", "wgan_gp", "wgan_div", "sngan", "gngan", "grangan", "fgan_kl",
            "fgan_reverse_kl", "fgan_pearson", "fgan_hellinger", "fgan_js",
            "cgan", "projection", "acgan", "infogan", "catgan",  # one per variant of labels and codes
            "ebgan", "vaegan", "deepsim", "glo"}  # and per variant with an autoencoder, an encoder or codes


def test_every_preset_of_the_seeds_exists():
    assert REQUIRED <= set(PRESETS)


# deepsim's comparator would be a LeNet trained on mnist5k (a minute): its feature term is test_deepsim.py's
# sngan_resnet_cifar10 reads CIFAR-10 from disk and Inception weights: the same nets, narrower, on mnist5k at 32 px
LIGHTER = {"deepsim": ["variant.feature_weight=0"],
           "sngan_resnet_cifar10": ["data=mnist5k", "data.image_size=32", "model.g_width=16", "model.d_width=16",
                                    "metrics.extractor=lenet"]}


@pytest.mark.parametrize("name", PRESETS)
def test_preset_trains(cfg_factory, train_steps, name):
    cfg = cfg_factory([f"experiment={name}", *LIGHTER.get(name, [])])
    validate(cfg)
    module, before = train_steps(cfg, steps=2)
    assert module.iteration == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    # what the preset sets is what trained: the variant's module, the loss, the constraints, the optimizers and the D
    # steps taken
    assert type(module).__name__ == cfg.variant._target_.rsplit(".", 1)[1]
    assert type(module.loss).__name__ == cfg.loss._target_.rsplit(".", 1)[1]
    wanted = sorted(node._target_.rsplit(".", 1)[1] for node in cfg.constraint.values() if node and "_target_" in node)
    assert sorted(type(c).__name__ for c in module.constraints.items) == wanted
    players = module.optimizers() if module.has_critic else [module.optimizers()]  # GLO: G's alone, no D
    for opt, lr in zip(players, (cfg.optimizer.lr_g, cfg.optimizer.lr_d)):
        assert type(opt.optimizer).__name__ == cfg.optimizer.cls.rsplit(".", 1)[1]
        group = opt.optimizer.param_groups[0]
        assert group.get("initial_lr", group["lr"]) == lr and all(group[k] == (tuple(v) if isinstance(v, list) else v)
                                         for k, v in (cfg.optimizer.kwargs or {}).items())
    assert module.n_critic == (cfg.optimizer.n_critic if module.has_critic else 0)


def test_presets_carry_their_papers_hyperparameters(cfg_factory):
    wgan = cfg_factory(["experiment=wgan"])
    assert (wgan.optimizer.name, wgan.optimizer.lr_d, wgan.optimizer.n_critic) == ("rmsprop", 5e-5, 5)
    assert wgan.constraint.clip.c == 0.01 and wgan.loss._target_.endswith("Wasserstein")
    gp = cfg_factory(["experiment=wgan_gp"])
    assert tuple(gp.optimizer.kwargs.betas) == (0.0, 0.9) and gp.constraint.gp.weight == 10
    assert gp.model.d_norm == "layer"
    assert cfg_factory(["experiment=fgan_js"]).loss.divergence == "js"


def test_the_sngan_resnet_preset_is_the_authors_cifar10_configuration(cfg_factory):
    cfg = cfg_factory(["experiment=sngan_resnet_cifar10"])
    assert (cfg.model.name, cfg.model.g_width, cfg.model.d_width, cfg.model.z_dim) == ("resnet", 256, 128, 128)
    assert cfg.loss._target_.endswith("Hinge") and list(cfg.constraint) == ["sn"]
    optimizer = cfg.optimizer
    assert (optimizer.lr_g, optimizer.lr_d, tuple(optimizer.kwargs.betas), optimizer.n_critic) == \
        (2e-4, 2e-4, (0.0, 0.9), 5)
    assert (optimizer.lr_decay, optimizer.lr_decay_steps, optimizer.ema_decay) == ("linear", 50000, 0.0)
    assert (cfg.data.name, cfg.data.batch_size, cfg.metrics.extractor, cfg.metrics.num_samples) == \
        ("cifar10", 64, "inception", 50000)
    assert cfg.metrics.reference == "train_set"


def test_the_gradient_penalty_weight_follows_the_data_scale_unless_given(cfg_factory):
    """WGAN-GP's 10 on images; the authors' toy-script 0.1 on PacGAN's mixtures; a given weight wins."""
    assert cfg_factory(["constraint=gp"]).constraint.gp.weight == 10.0
    for preset in (["experiment=toy_ring"], ["experiment=toy_grid"], ["data=ring", "model=mlp"]):
        assert cfg_factory([*preset, "constraint=gp"]).constraint.gp.weight == 0.1
    assert cfg_factory(["experiment=toy_ring", "constraint=gp", "constraint.gp.weight=10"]).constraint.gp.weight == 10


def test_variant_presets_carry_their_papers_settings(cfg_factory):
    """Each variant's preset picks its variant on mnist5k with the settings its YAML attributes to the paper."""
    for name in ("cgan", "projection", "acgan", "infogan", "catgan"):
        cfg = cfg_factory([f"experiment={name}"])
        assert (cfg.variant.name, cfg.data.name) == (name, "mnist5k")
    projection = cfg_factory(["experiment=projection"])  # the authors' loss and SN; DCGAN's Adam (the YAML says why)
    assert projection.loss._target_.endswith("Hinge") and list(projection.constraint) == ["sn"]
    assert tuple(projection.optimizer.kwargs.betas) == (0.5, 0.999) and projection.optimizer.n_critic == 1
    assert projection.optimizer.lr_decay == "none" and projection.optimizer.lr_d == 2e-4
    infogan = cfg_factory(["experiment=infogan"])  # the official code's run_mnist_exp.py
    assert (infogan.model.z_dim, infogan.variant.noise, infogan.variant.categorical, infogan.variant.continuous) == \
        (62, "uniform", 10, 2)
    assert (infogan.optimizer.lr_g, infogan.optimizer.lr_d, infogan.data.batch_size) == (1e-3, 2e-4, 128)
    assert (infogan.variant.lambda_cat, infogan.variant.lambda_cont, infogan.model.d_norm) == (1.0, 0.1, "batch")
    assert infogan.model.leak == 0.01 and infogan.model.discriminator.leak == 0.01  # its leaky_rectify's slope
    acgan = cfg_factory(["experiment=acgan"])
    assert (acgan.data.batch_size, acgan.variant.class_weight, acgan.variant.fake_class_loss) == (100, 1.0, False)
    catgan = cfg_factory(["experiment=catgan"])
    assert catgan.variant.labelled == 0  # unsupervised: the clusters are D's own
    assert catgan.variant.marginal_weight == 3.0  # the YAML says why
    assert list(catgan.constraint) == ["sn", "noise"] and catgan.constraint.noise.sigma == 0.3
    assert (catgan.model.discriminator.width, catgan.model.generator.width) == (16, 32)  # the YAML says why
    ebgan = cfg_factory(["experiment=ebgan"])  # the paper's pull-away weight, the margin chosen on seeds 0-1
    assert (ebgan.variant.name, ebgan.data.name) == ("ebgan", "mnist5k")
    assert ebgan.loss._target_ == "gan_runner.losses.Energy"
    assert (ebgan.variant.pt_weight, ebgan.loss.margin) == (0.1, 0.1)
