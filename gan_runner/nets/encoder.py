"""The encoder of a variant that maps images back to G's latent space (VAE-GAN): q(z | x) = N(μ(x), diag σ²(x))."""
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
