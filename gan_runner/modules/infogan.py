"""InfoGAN (Chen et al. 2016; seed 001): G's input is noise plus codes c (a K-way categorical code and continuous
codes ~ U(-1, 1)); a head Q on D's trunk features estimates c from G(z, c), and the variational bound of the mutual
information I(c; G(z, c)), E[log Q(c|x)], is maximized by G and by Q with D's body (its term is added to D's and
G's losses, as in the authors' code, where Q's layers belong to D).

The categorical term is the cross-entropy of Q's logits to the code (no softmax before it: PyTorch-GAN #84); the
continuous codes' term is a Gaussian log-likelihood, with a fixed sigma = 1 (the authors' code: half the squared
error) or a sigma that Q predicts (`sigma: learned`).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from gan_runner import draws
from gan_runner.checks import ConfigError, non_negative, positive
from gan_runner.metrics.classes import matching
from gan_runner.modules.gan import GAN
from gan_runner.nets.conditioning import one_hot
from gan_runner.nets.norm import feature_norm

TRAVERSAL = torch.linspace(-2, 2, 9)  # the continuous code swept beyond its training range, as in figure 2
CODE_SAMPLES_PER_CLASS = 200


class InfoGAN(GAN):
    uses_features = True

    def __init__(self, *args, categorical: int = 10, continuous: int = 2, lambda_cat: float = 1.0,
                 lambda_cont: float = 0.1, sigma: str = "fixed", q_width: int = 128, q_norm: str = "batch",
                 noise: str = "normal", **kwargs):
        self.categorical, self.continuous, self.sigma, self.noise_prior = categorical, continuous, sigma, noise
        self.lambda_cat, self.lambda_cont, self.q_width, self.q_norm = lambda_cat, lambda_cont, q_width, q_norm
        super().__init__(*args, **kwargs)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        positive(args, "categorical", "q_width")
        non_negative(args, "continuous", "lambda_cat", "lambda_cont")
        if args.get("sigma", "fixed") not in ("fixed", "learned"):
            raise ConfigError("sigma", "must be fixed (the authors' code) or learned")
        if args.get("noise", "normal") not in ("normal", "uniform"):
            raise ConfigError("noise", "must be normal (N(0, 1)) or uniform (U(-1, 1), the authors' code)")
        if args.get("q_norm", "batch") not in ("batch", "none"):
            raise ConfigError("q_norm", "must be batch (the paper's Q: FC-BatchNorm-LeakyReLU) or none")

    def build_networks(self, make_generator, make_discriminator):
        critic = make_discriminator()
        outputs = self.categorical + self.continuous * (2 if self.sigma == "learned" else 1)
        critic.heads["q"] = nn.Sequential(nn.Linear(critic.feature_dim, self.q_width),
                                          feature_norm(self.q_norm, self.q_width, False), nn.LeakyReLU(critic.leak),
                                          nn.Linear(self.q_width, outputs))
        return make_generator(z_dim=self.z_dim + self.categorical + self.continuous), critic

    # ----- latent codes -----
    def latent(self, noise, code, continuous):
        """G's input: [noise | one-hot categorical code | continuous codes]."""
        return torch.cat([noise, one_hot(code, self.categorical, noise), continuous], 1)

    def codes(self, z):
        """The categorical code (an index) and the continuous codes inside G's input."""
        one_hot_code = z[:, self.z_dim:self.z_dim + self.categorical]
        return one_hot_code.argmax(1), z[:, self.z_dim + self.categorical:]

    def noise(self, n, fixed: bool = False):
        """G's incompressible noise z: N(0, 1), or U(-1, 1) as in the authors' code (`noise: uniform`). Training
        draws per sample (draws.py); `fixed`: from torch's seeded stream, for the evaluation's pictures."""
        uniform = self.noise_prior == "uniform"
        if fixed:
            z = (torch.rand if uniform else torch.randn)(n, self.z_dim, device=self.device)
        else:
            z = (draws.uniform if uniform else draws.normal)(n, self.z_dim, device=self.device)
        return z * 2 - 1 if uniform else z

    def sample_latent(self, n, labels=None, real=None, index=None):
        noise = self.noise(n)
        code = draws.integers(self.categorical, n, device=self.device)
        continuous = draws.uniform(n, self.continuous, device=self.device) * 2 - 1
        return self.latent(noise, code, continuous), None

    # ----- the mutual information terms -----
    def information_terms(self, features, z, prefix: str) -> dict:
        """lambda_cat * CE(Q's logits, c_cat) + lambda_cont * (-log Q(c_cont | x)) up to a constant."""
        out = self.d_part("heads")["q"](features).float()
        code, continuous = self.codes(z)
        terms = {f"{prefix}_cat": self.lambda_cat * F.cross_entropy(out[:, :self.categorical], code)}
        if self.continuous:
            mean = out[:, self.categorical:self.categorical + self.continuous]
            if self.sigma == "learned":
                log_sigma = out[:, self.categorical + self.continuous:].clamp(-5, 5)
                nll = log_sigma + 0.5 * ((continuous - mean) * torch.exp(-log_sigma)) ** 2
            else:
                nll = 0.5 * (continuous - mean) ** 2
            terms[f"{prefix}_cont"] = self.lambda_cont * nll.sum(1).mean()
        return terms

    def d_extra(self, batch):
        return self.information_terms(batch.fake.features, batch.z, "q_info")

    def g_extra(self, batch):
        return self.information_terms(batch.fake.features, batch.z, "g_info")

    # ----- evaluation -----
    def variant_metrics(self, evaluation):
        """`code_accuracy`: the categorical code against the classifier's label of each sample, codes matched to
        classes by the Hungarian algorithm; `q_accuracy`: Q's categorical code of each real image against its label,
        matched the same way (the paper's protocol for its 5% error on MNIST: Q as a classifier); and a picture per
        continuous code: rows are the categorical codes (in the order of the classes they match), columns the code
        swept from -2 to 2, all else fixed."""
        data, metrics = evaluation.data, {}
        if data.y is not None:
            batches = torch.arange(len(data)).split(500)
            codes = torch.cat([self.code_of(data.samples(i).to(self.device)) for i in batches])
            metrics["q_accuracy"] = matching(codes, data.y, self.categorical, data.num_classes)[1]
        if evaluation.classifier is None:
            return metrics
        n = CODE_SAMPLES_PER_CLASS * self.categorical
        torch.manual_seed(0)
        code = torch.arange(n, device=self.device) % self.categorical
        z = self.latent(self.noise(n, fixed=True), code,
                        torch.rand(n, self.continuous, device=self.device) * 2 - 1)
        predicted = evaluation.classifier(self.generate(z, None, self.sampler()).float()).argmax(1)
        match, metrics["code_accuracy"] = matching(code, predicted, self.categorical, data.num_classes)
        order = sorted(range(self.categorical), key=lambda c: match.get(c, math.inf))
        noise = self.noise(1, fixed=True).expand(len(TRAVERSAL), -1)
        for j in range(self.continuous):
            rows = []
            for c in order:
                continuous = torch.zeros(len(TRAVERSAL), self.continuous, device=self.device)
                continuous[:, j] = TRAVERSAL.to(self.device)
                rows.append(self.generate(self.latent(noise, torch.full_like(TRAVERSAL, c).long().to(self.device),
                                                      continuous), None, self.sampler()))
            evaluation.grid(f"traversal_c{j + 1}", torch.cat(rows).float().cpu(), len(TRAVERSAL))
        return metrics

    def code_of(self, x):
        """Q's most likely categorical code of each image (D's trunk and Q, without constraint wrappers)."""
        return self.d_part("heads")["q"](self.d_part("trunk")(x))[:, :self.categorical].argmax(1).cpu()
