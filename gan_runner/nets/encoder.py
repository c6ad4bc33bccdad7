"""Encoders from images to G's latent space: VAE-GAN's q(z | x) = N(μ(x), diag σ²(x)), and DeePSiM's
image-to-image G."""
from torch import Tensor, nn


class GaussianEncoder(nn.Module):
    """x -> (μ, log σ²): a trunk of the model's D architecture (weights of its own) and one linear layer."""

    def __init__(self, critic: nn.Module, z_dim: int):
        super().__init__()
        self.trunk = critic.trunk
        self.moments = nn.Linear(critic.feature_dim, 2 * z_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_var = self.moments(self.trunk(x)).chunk(2, dim=1)
        return mean, log_var


class CodeEncoder(nn.Module):
    """x -> a code of `z_dim` numbers: a trunk of the model's D architecture (weights of its own), one linear layer."""

    def __init__(self, critic: nn.Module, z_dim: int):
        super().__init__()
        self.trunk = critic.trunk
        self.code = nn.Linear(critic.feature_dim, z_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.code(self.trunk(x))


class EncoderDecoder(nn.Module):
    """An image-to-image G: the model's G decoding an encoder's code of its input image."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x)).view_as(x)
