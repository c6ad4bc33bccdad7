"""The base of the variants that generate given classes (cgan, projection, acgan): G(z, y), with the real batch's
labels in training (so D's real and fake sides, and a penalty's interpolates, share them) and balanced labels in
evaluation."""
from gan_runner.checks import ConfigError
from gan_runner.errors import UserError
from gan_runner.modules.gan import GAN
from gan_runner.nets.conditioning import ConcatGenerator, norm_conditioned

# How G takes its labels: appended to z (the papers'), or through conditional BatchNorm (a gain and a bias per class
# in each of G's BatchNorms: SNGAN's and the projection paper's conditional ResNet G)
G_LABELS = ("input", "batchnorm")


class LabelConditional(GAN):
    def __init__(self, *args, **kwargs):
        if not kwargs.get("num_classes"):
            raise UserError(f"variant {type(self).__name__} generates given classes, and these images have no labels: "
                            "use labelled data (class subfolders for data=folder)")
        super().__init__(*args, **kwargs)

    def sample_latent(self, n, labels=None, real=None, index=None):
        return self.draw_z(n), labels

    def labelled_generator(self, make_generator, how: str):
        """G(z, y) with its labels `how` (G_LABELS)."""
        if how == "batchnorm":
            return norm_conditioned(make_generator(), self.num_classes)
        return ConcatGenerator(make_generator, self.z_dim, self.num_classes)

    @staticmethod
    def check_g_labels(how: str, cfg, key: str = "labels") -> None:
        if how not in G_LABELS:
            raise ConfigError(key, f"is not a way for G to take its labels: choose one of {', '.join(G_LABELS)}")
        if how == "batchnorm" and cfg.model.get("g_norm", "batch") != "batch":
            raise UserError(f"variant.{key}=batchnorm conditions G through its BatchNorm layers, and "
                            f"model.g_norm={cfg.model.g_norm} has none: set model.g_norm=batch")

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        if cfg.data.kind != "image":
            raise UserError(f"variant={args['name']} generates given classes, and data={cfg.data.name} has no labels: "
                            "use labelled images (data=mnist5k, digits, mnist, fashion_mnist, cifar10)")
