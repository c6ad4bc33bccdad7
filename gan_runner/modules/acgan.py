"""AC-GAN (Odena et al. 2017): G(z, y) with the one-hot label appended to z (`g_labels=batchnorm`: through conditional
BatchNorm instead, the conditional ResNet G of SNGAN); D stays unconditional and gets an
auxiliary classifier on its trunk features. D minimizes the class cross-entropy of real samples, G that of its
samples under the labels it was given. The paper's L_C also trains D's classifier on generated samples
(`fake_class_loss: true`); the default leaves that term out, a choice with no measurement behind it: StudioGAN's
issue #74 discussed dropping it without a comparison, and this runner's AC-GAN proof runs were made with it off.

Cross-entropy on the classifier's logits (no softmax before it: PyTorch-GAN #150).
"""
import torch.nn.functional as F
from torch import nn

from gan_runner.checks import non_negative
from gan_runner.modules.conditional import LabelConditional


class ACGAN(LabelConditional):
    uses_features = True

    def __init__(self, *args, class_weight: float = 1.0, fake_class_loss: bool = False, g_labels: str = "input",
                 **kwargs):
        self.class_weight, self.fake_class_loss, self.g_labels = class_weight, fake_class_loss, g_labels
        super().__init__(*args, **kwargs)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        non_negative(args, "class_weight")
        cls.check_g_labels(args.get("g_labels", "input"), cfg, key="g_labels")

    def build_networks(self, make_generator, make_discriminator):
        critic = make_discriminator()
        critic.heads["classes"] = nn.Linear(critic.feature_dim, self.num_classes)
        return self.labelled_generator(make_generator, self.g_labels), critic

    def class_loss(self, side):
        """Cross-entropy of D's classifier on one side's features against the labels it carries."""
        return self.class_weight * F.cross_entropy(self.d_part("heads")["classes"](side.features).float(), side.y)

    def d_extra(self, batch):
        terms = {"d_class_real": self.class_loss(batch.real)}
        if self.fake_class_loss:
            terms["d_class_fake"] = self.class_loss(batch.fake)
        return terms

    def g_extra(self, batch):
        return {"g_class": self.class_loss(batch.fake)}
