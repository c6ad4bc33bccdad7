"""Conditional GAN (Mirza & Osindero 2014; seed 002 section 4): the one-hot label concatenated to G's input z and to
D's input (constant image channels, or the vector of an MLP): G(z, y), D(x, y)."""
from gan_runner.modules.conditional import LabelConditional
from gan_runner.nets.conditioning import ConcatCritic, ConcatGenerator


class ConditionalGAN(LabelConditional):
    conditional_critic = True

    def build_networks(self, make_generator, make_discriminator):
        return (ConcatGenerator(make_generator, self.z_dim, self.num_classes),
                ConcatCritic(make_discriminator, self.num_classes))
