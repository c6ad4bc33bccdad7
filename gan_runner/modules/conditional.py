"""The base of the variants that generate given classes (cgan, projection, acgan): G(z, y), with the real batch's
labels in training (so D's real and fake sides, and a penalty's interpolates, share them) and balanced labels in
evaluation."""
from gan_runner.errors import UserError
from gan_runner.modules.gan import GAN


class LabelConditional(GAN):
    def __init__(self, *args, **kwargs):
        if not kwargs.get("num_classes"):
            raise UserError(f"variant {type(self).__name__} generates given classes, and these images have no labels: "
                            "use labelled data (class subfolders for data=folder)")
        super().__init__(*args, **kwargs)

    def sample_latent(self, n, labels=None, real=None, index=None):
        return self.draw_z(n), labels

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        if cfg.data.kind != "image":
            raise UserError(f"variant={args['name']} generates given classes, and data={cfg.data.name} has no labels: "
                            "use labelled images (data=mnist5k, digits, mnist, fashion_mnist, cifar10)")
