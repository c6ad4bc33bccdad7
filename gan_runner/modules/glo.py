"""GLO, Generative Latent Optimization (Bojanowski, Joulin, Lopez-Paz & Szlam 2018, "Optimizing the Latent Space of
Generative Networks"; seed 003's DGN): no D. Each training image i has a learned code z_i of z_dim numbers, kept on
the unit sphere; G and the codes learn together to reconstruct the images, and new samples decode draws from one
full-covariance Gaussian fitted to the codes.

- The codes: initialized from the images' top z_dim principal components (`code_init=pca`, the paper's usual choice) or
  N(0, I) (`code_init=gaussian`), then projected; after every G step each code of the batch takes a plain SGD step at
  `code_lr` and is projected again: z / ‖z‖ (`projection=sphere`, the paper's words) or z / max(1, ‖z‖) (`ball`, its
  formula's and the first version's). Plain SGD leaves codes outside the batch where they are (a momentum optimizer
  would move them all every step) and keeps no state: the codes in the checkpoint are all a resume needs.
  Under DDP every rank holds every code (replicated: the bytes are 4·N·z_dim, 24 MB for 60,000 codes of 100, and
  as much again for their gradient in a step); gradients are averaged over the ranks like G's, each rank's rows being
  its own, so all ranks take the same step.
- G's loss: `reconstruction=laplacian` (nets/laplacian.py, Lap1), `l1` or `l2` (the mean squared error) between G(z_i) and x_i.
  G's optimizer is the configured one (experiment=glo: plain SGD, lr 1 for G and 10 for the codes, the values recalled
  from the paper and used by public re-implementations; not checked against its text).
- Sampling: z ~ N(μ, Σ) of the current codes (not projected), refitted at each evaluation; reconstructions of the
  FID reference's training images and interpolations between pairs of their codes are drawn beside the samples.
The adversarial loss and the constraints have nothing to act on: constraints are refused, `loss=` is ignored.
"""
import torch
from torch import Tensor, nn

from gan_runner import distributed, draws
from gan_runner.checks import positive
from gan_runner.errors import UserError
from gan_runner.metrics.reconstruction import reconstruction_metrics
from gan_runner.modules.gan import GAN
from gan_runner.nets.laplacian import laplacian_l1
from gan_runner.validate import constraint_classes

LOSSES = {"laplacian": laplacian_l1, "l1": lambda a, b: (a - b).abs().mean(),
          "l2": lambda a, b: (a - b).square().mean()}
INITS, PROJECTIONS = ("pca", "gaussian"), ("sphere", "ball")
INTERPOLATION_ROWS, INTERPOLATION_STEPS = 4, 8


def project(z: Tensor, projection: str) -> Tensor:
    norm = z.norm(dim=1, keepdim=True)
    return z / (norm if projection == "sphere" else norm.clamp_min(1.0))


def principal_codes(images: Tensor, z_dim: int) -> Tensor:
    """Each image's coordinates on the data's top z_dim principal directions, [N, z_dim] (randomized PCA; zeros
    beyond the images' own dimension when z_dim exceeds it)."""
    flat = images.flatten(1)
    rank = min(z_dim, *flat.shape)
    _, _, directions = torch.pca_lowrank(flat, q=rank, center=True)
    coordinates = (flat - flat.mean(0)) @ directions
    return torch.cat([coordinates, coordinates.new_zeros(len(flat), z_dim - rank)], dim=1)


class NoCritic(nn.Module):
    """GLO's place for D: nothing to train, nothing to score with."""

    def forward(self, x, y=None):
        raise RuntimeError("variant=glo has no D to score samples with")


class GLO(GAN):
    has_critic = False

    def __init__(self, *args, reconstruction: str = "laplacian", code_lr: float = 10.0, code_init: str = "pca",
                 projection: str = "sphere", **kwargs):
        self.reconstruction, self.code_lr, self.code_init = LOSSES[reconstruction], code_lr, code_init
        self.projection = projection
        super().__init__(*args, **kwargs)
        self.codes = nn.Parameter(torch.empty(0, self.z_dim), requires_grad=False)  # sized by training_data

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        positive(args, "code_lr")
        for key, allowed in (("reconstruction", LOSSES), ("code_init", INITS), ("projection", PROJECTIONS)):
            if args.get(key) is not None and args[key] not in allowed:
                raise UserError(f"variant.{key}={args[key]!r}: choose {' or '.join(allowed)}")
        if cfg.data.kind != "image":
            raise UserError(f"variant=glo reconstructs images, and data={cfg.data.name} holds points: use images")
        refusals = {  # what needs a D, or a loss scale that the codes' own step would not undo
            f"constraint={','.join(constraint_classes(cfg))}": bool(constraint_classes(cfg)),
            "optimizer.update=simultaneous": cfg.optimizer.get("update") == "simultaneous",
            f"model.pack={cfg.model.get('pack', 1)}": cfg.model.get("pack", 1) > 1,
            "variant.feature_matching=true": bool(args.get("feature_matching", False)),
            f"trainer.precision={cfg.trainer.precision}": str(cfg.trainer.precision).startswith("16"),
        }
        for setting, refused in refusals.items():
            if refused:
                raise UserError(f"variant=glo has no D and steps its codes by hand without a loss scale: "
                                f"{setting} has nothing to act on there; drop it")

    def build_networks(self, make_generator, make_discriminator):
        return make_generator(), NoCritic()

    def training_data(self, data):
        if len(self.codes) != len(data):
            start = principal_codes(data.samples(torch.arange(len(data))), self.z_dim) if self.code_init == "pca" \
                else draws.latent("normal", len(data), self.z_dim)
            self.codes = nn.Parameter(project(start, self.projection).to(self.device))
        return data

    def player_modules(self):
        return {"g": [self.generator], "d": []}  # the codes take their own SGD step (after_g_step)

    def sample_latent(self, n, labels=None, real=None, index=None):
        """The batch's codes in training; draws from the Gaussian fitted to the codes in evaluation."""
        if index is not None:
            return self.codes[index.to(self.device)], None
        codes = self.codes.detach()
        factor = torch.linalg.cholesky(torch.cov(codes.T) + 1e-6 * torch.eye(self.z_dim, device=self.device))
        return codes.mean(0) + draws.latent("normal", n, self.z_dim, device=self.device) @ factor.T, None

    def g_objective(self, batch):
        """The reconstruction alone: there is no D to score the samples."""
        term = self.reconstruction(batch.fake.x, batch.real.x)
        return term, {"g_loss": term, "g_recon": term}

    def after_g_step(self) -> None:
        grad = self.codes.grad
        distributed.average_gradients([self.codes])
        with torch.no_grad():
            rows = grad.abs().sum(1).nonzero().flatten()  # the batch's codes: the only ones with a gradient
            self.codes[rows] = project(self.codes[rows] - self.code_lr * grad[rows], self.projection)
        self.codes.grad = None

    def variant_metrics(self, evaluation):
        def reconstruct(x, index):  # the live G: the codes were fitted to it, not to G's moving average
            return self.generate(self.codes[index.to(self.device)])
        metrics = reconstruction_metrics(evaluation, reconstruct)
        pairs = self.codes.detach()[evaluation.data.reference_index(2 * INTERPOLATION_ROWS).to(self.device)]
        weights = torch.linspace(0, 1, INTERPOLATION_STEPS, device=self.device).view(1, -1, 1)
        path = project((1 - weights) * pairs[0::2, None] + weights * pairs[1::2, None], self.projection)
        evaluation.grid("interpolations", self.generate(path.flatten(0, 1)).float().cpu(), INTERPOLATION_STEPS)
        return metrics
