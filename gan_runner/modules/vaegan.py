"""VAE-GAN (Larsen, Sønderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a learned similarity
metric"), with the players' losses of the authors' code (andersbll/autoencoding_beyond_pixels, model/aegan.py).

An encoder E(x) = (μ, log σ²) (nets/encoder.py); G is the decoder; x̃ = G(μ + σ·ε). Each iteration:
- D: the configured loss, real x against the fakes G(z) and, with `discriminate_recon` (the paper's Algorithm 1 and
  the code's class default; every experiment script of the code turns it off), the reconstructions x̃ too, one mean
  over both kinds (the code's weights: real 1/2, each kind 1/4);
- E: KL(q(z|x) ‖ N(0, I)) + L_llike, and no GAN term (the code scales that gradient to E by 0);
- G: γ·L_llike + gan_weight · (the loss's G term on the fakes D sees);
L_llike = ½ Σ_features (f(x̃) - f(x))², averaged over the batch: the negative log-likelihood of a unit-variance
Gaussian in D's features f (`recon_space=critic`: D's trunk output, x̃ and x in one pass so that a BatchNorm in D
normalizes them together, as the code's one pass of both; the code reads the 4th conv's output of its 64 px D,
`recon_depth` 9, before that layer's BatchNorm and an FC layer beyond it), or in pixels (`recon_space=pixel`); D does
not train on it (the code gives it weight 0 for D). `gan_weight=0, recon_space=pixel` is the plain-VAE baseline.
The code's `recon_vs_gan_weight` w weighs G's terms w·L_llike - (1 - w)·GAN, both sums over a batch of B
reconstructions and B (or, with reconstructions discriminated, 2B) fakes: γ = w / (1 - w), or w / (2 (1 - w)), up to
the feature sums (its scripts: w from 1e-6 to 5e-5). Its G term is the saturating log(1 - D(G(z))), loss=minimax here
(experiment=vaegan); its equilibrium rule (skip D's or G's update when D's cross-entropy is off 0.68 by 0.35) is left
out.
"""
import torch
from torch import Tensor

from gan_runner import draws
from gan_runner.checks import non_negative, positive
from gan_runner.errors import UserError
from gan_runner.metrics.reconstruction import reconstruction_metrics
from gan_runner.modules.gan import GAN
from gan_runner.nets.encoder import GaussianEncoder
from gan_runner.nets.init import initialize

SPACES = ("critic", "pixel")


class _ScaleGradient(torch.autograd.Function):
    """The identity forward; the gradient times `scale` backward."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def kl_to_standard_normal(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per sample, averaged over the batch."""
    return (-0.5 * (1 + log_var - mean.square() - log_var.exp()).sum(1)).mean()


def gaussian_nll(a: Tensor, b: Tensor) -> Tensor:
    """½ Σ (a - b)² per sample, averaged: a unit-variance Gaussian's negative log-likelihood up to its constant."""
    return 0.5 * (a - b).square().flatten(1).sum(1).mean()


class VAEGAN(GAN):
    feature_matching_refusal = ("variant=vaegan weighs G's adversarial term by gan_weight, which feature matching "
                                "would replace: drop variant.feature_matching")
    relativistic_refusal = ("variant=vaegan scores two kinds of fakes (samples and reconstructions) against one real "
                            "batch, which a relativistic loss cannot pair: choose another loss")

    def __init__(self, *args, gamma: float = 1.0, gan_weight: float = 1.0, recon_space: str = "critic",
                 discriminate_recon: bool = True, **kwargs):
        self.gamma, self.gan_weight, self.recon_space = gamma, gan_weight, recon_space
        self.discriminate_recon = discriminate_recon
        self._posterior = None
        super().__init__(*args, **kwargs)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        positive(args, "gamma")
        non_negative(args, "gan_weight")
        if args.get("recon_space", "critic") not in SPACES:
            raise UserError(f"variant.recon_space={args['recon_space']!r}: choose critic (D's features, the paper's) "
                            "or pixel")
        if cfg.model.get("z_prior", "normal") != "normal":
            raise UserError(f"variant=vaegan's KL pulls the codes toward N(0, I), and model.z_prior="
                            f"{cfg.model.z_prior} would draw G's samples elsewhere: set model.z_prior=normal")
        if cfg.optimizer.get("consensus", 0.0) > 0:
            raise UserError("variant=vaegan keeps L_llike from training D's features, and consensus optimization's "
                            "joint field would train them through it: set optimizer.consensus=0")

    def initial_networks(self, make_generator, make_discriminator, init):
        generator, critic = super().initial_networks(make_generator, make_discriminator, init)
        self.encoder = GaussianEncoder(make_discriminator(), self.z_dim)
        initialize(self.encoder, init)
        return generator, critic

    def player_modules(self):
        return {"g": [self.generator, self.encoder], "d": [self.discriminator]}

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(μ, log σ², a draw μ + σ·ε) of q(z | x)."""
        mean, log_var = self.encoder(x)
        return mean, log_var, mean + (0.5 * log_var).exp() * draws.normal_like(mean)

    def _reconstructions(self, real: Tensor) -> Tensor:
        """x̃ of the GAN terms, from a draw of q(z | x) that carries no gradient to E (the code scales it by 0)."""
        with torch.no_grad():
            code = self.encode(real)[2]
        return self.generate(code)

    def d_adversarial(self, batch):
        fakes = batch.fake.score
        if self.discriminate_recon:
            with torch.no_grad():
                recon = self._reconstructions(batch.real.x)
            fakes = torch.cat([fakes, self.critic(recon)])
        return {"d_adv": self.loss.d_loss(batch.real.score, fakes)}

    def g_adversarial(self, batch, v_real):
        fakes = batch.fake.score
        if self.discriminate_recon:
            fakes = torch.cat([fakes, self.critic(self._reconstructions(batch.real.x))])
        return {"g_adv": self.gan_weight * self.loss.g_loss(fakes, v_real)}

    def g_extra(self, batch):
        mean, log_var, code = self.encode(batch.real.x)
        # E's gradient of L_llike at weight 1, G's at γ: G's input carries its gradient scaled by 1/γ
        recon = self.generate(_ScaleGradient.apply(code, 1.0 / self.gamma))
        if self.recon_space == "pixel":
            likelihood = gaussian_nll(recon, batch.real.x)
        else:
            # one pass of x̃ and x: a BatchNorm in D normalizes both with the same statistics
            recon_features, real_features = self.d_part("trunk")(torch.cat([recon, batch.real.x])).chunk(2)
            likelihood = gaussian_nll(recon_features, real_features.detach())
        return {"e_kl": kl_to_standard_normal(mean, log_var), "g_llike": self.gamma * likelihood}

    def variant_metrics(self, evaluation):
        def reconstruct(x, index):  # the live G: the encoder was trained with it, not with G's moving average
            return self.generate(self.encoder(x.to(self.device))[0])
        return reconstruction_metrics(evaluation, reconstruct)
