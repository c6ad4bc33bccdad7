"""EBGAN's discriminator (Zhao, Mathieu & LeCun 2017): an autoencoder whose score is an energy, the mean squared
error of its reconstruction, per sample. The encoder is the model's D trunk (its features are the code, which the
pull-away term reads); the decoder is the model's G architecture taking that code as its latent, so that every model
(MLP, DCGAN) has an autoencoder of its own kind."""
from torch import Tensor, nn

from gan_runner.nets.critic import AuxiliaryHeads


class EnergyCritic(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.trunk, self.decoder = encoder.trunk, decoder  # the encoder's score head is not part of it
        self.feature_dim, self.flat_input = encoder.feature_dim, encoder.flat_input
        self.heads = AuxiliaryHeads()

    def features(self, x: Tensor) -> Tensor:
        return self.trunk(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decoder(self.trunk(x)).view_as(x)

    def forward(self, x: Tensor) -> Tensor:
        return (self.reconstruct(x) - x).pow(2).flatten(1).mean(1)
