"""Conditional GAN (Mirza & Osindero 2014; seed 002 section 4): the one-hot label concatenated to G's input z and to
D's input (constant image channels, or the vector of an MLP): G(z, y), D(x, y). `labels=every_layer` appends it to
the input of every layer of both nets instead, as DCGAN's conditional MNIST model does (Radford 2016's code);
`labels=batchnorm` conditions G's BatchNorms on it (conditional BatchNorm, the conditional ResNet G of SNGAN) and
still appends it to D's input.

`mismatch` > 0 makes D matching-aware (Reed et al. 2016, GAN-CLS): real images with wrong labels are scored as a
further fake side, so D learns from the real data itself that an image and its label must agree."""
from gan_runner import draws
from gan_runner.checks import ConfigError, non_negative
from gan_runner.modules.conditional import LabelConditional
from gan_runner.nets.conditioning import ConcatCritic, labels_at_every_layer

PLACES = ("input", "every_layer", "batchnorm")


class ConditionalGAN(LabelConditional):
    conditional_critic = True

    def __init__(self, *args, labels: str = "input", mismatch: float = 0.0, **kwargs):
        self.labels_at, self.mismatch = labels, mismatch
        super().__init__(*args, **kwargs)

    def build_networks(self, make_generator, make_discriminator):
        if self.labels_at == "every_layer":
            return (labels_at_every_layer(make_generator(), self.num_classes),
                    labels_at_every_layer(make_discriminator(), self.num_classes))
        return (self.labelled_generator(make_generator, self.labels_at),
                ConcatCritic(make_discriminator, self.num_classes))

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        non_negative(args, "mismatch")
        if args.get("labels", "input") not in PLACES:
            raise ConfigError("labels", f"is not a place for the labels: choose one of {', '.join(PLACES)}")
        if args.get("labels") == "batchnorm":
            cls.check_g_labels("batchnorm", cfg)

    def d_extra(self, batch):
        if not self.mismatch:
            return {}
        real = batch.real
        wrong = (real.y + 1 + draws.integers(self.num_classes - 1, len(real.y), device=self.device)) % self.num_classes
        return {"d_mismatch": self.mismatch * self.loss.d_loss(real.score, self.critic(real.x, wrong))}
