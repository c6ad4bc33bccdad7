"""cGAN with a projection discriminator (Miyato & Koyama 2018): D(x, y) = psi(phi(x)) + embed(y) . phi(x) on D's
trunk features phi, and conditional BatchNorm in G. D(fake) sees the labels G was given (the base module's sides
carry them); spectral normalization, when chosen, covers the embedding too."""
from gan_runner.errors import UserError
from gan_runner.modules.conditional import LabelConditional
from gan_runner.nets.conditioning import ProjectionCritic, norm_conditioned


class ProjectionGAN(LabelConditional):
    conditional_critic = True

    def build_networks(self, make_generator, make_discriminator):
        return (norm_conditioned(make_generator(), self.num_classes),
                ProjectionCritic(make_discriminator(), self.num_classes))

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        if cfg.model.get("g_norm", "batch") != "batch":
            raise UserError(f"variant=projection conditions G through its BatchNorm layers (conditional BatchNorm), "
                            f"and model.g_norm={cfg.model.g_norm} has none: set model.g_norm=batch")
