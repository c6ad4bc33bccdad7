"""GLO, Generative Latent Optimization (Bojanowski, Joulin, Lopez-Paz & Szlam 2018, "Optimizing the Latent Space of
Generative Networks"; seed 003's DGN): no D. Each training image i has a learned code z_i of z_dim numbers, kept on
the unit sphere; G and the codes learn together to reconstruct the images, and new samples decode draws from one
full-covariance Gaussian fitted to the codes.

- The codes: at the start of training (not on a resume, which loads them), the images' coordinates on their top
  z_dim principal directions (`code_init=pca`, the paper's usual choice; the directions from at most 10,000 images,
  the projection chunk by chunk) or N(0, I) (`code_init=gaussian`), projected; after every G step each code of the
  batch takes a plain SGD step at `code_lr` (times G's learning-rate schedule, `optimizer.lr_decay`) and is projected
  again: z / ‖z‖ (`projection=sphere`, the paper's words)
  or z / max(1, ‖z‖) (`ball`, its formula's and the first version's). Plain SGD leaves codes outside the batch where
  they are (a momentum optimizer would move them all every step) and keeps no state: the codes in the checkpoint are
  all a resume needs. The loss is a mean over the batch, so a code's step shrinks as the batch grows (`code_lr` is
  tied to `data.batch_size`, as G's learning rate is). Under DDP every rank holds every code (replicated: 4·N·z_dim
  bytes, 24 MB for 60,000 codes of 100, and during a step as much again for their gradient and for its all-reduce);
  rank 0's initial codes are broadcast, gradients are averaged over the ranks like G's (each rank's rows its own),
  so all ranks take the same step. No EMA of G: the codes follow the live G, which an average would decode wrongly.
- G's loss: `reconstruction=laplacian` (nets/laplacian.py, Lap1), `l1` or `l2` (the mean squared error) between
  G(z_i) and x_i. G's optimizer is the configured one (experiment=glo: plain SGD, lr 1 for G and 10 for the codes,
  the values recalled from the paper and used by public re-implementations; not checked against its text).
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
PCA_IMAGES = 10_000


def project(z: Tensor, projection: str) -> Tensor:
    norm = z.norm(dim=1, keepdim=True)
    return z / (norm.clamp_min(1e-12) if projection == "sphere" else norm.clamp_min(1.0))


def principal_codes(data, z_dim: int, fitted_on: int = PCA_IMAGES, chunk: int = 1000) -> Tensor:
    """Each image's coordinates on the data's top z_dim principal directions, [N, z_dim] (randomized PCA of at most
    `fitted_on` images, every image projected chunk by chunk: no float copy of a large set; zeros beyond the images'
    own dimension when z_dim exceeds it)."""
    sample = data.samples(torch.randperm(len(data))[:fitted_on]).flatten(1)
    rank = min(z_dim, *sample.shape)
    mean = sample.mean(0)
    _, _, directions = torch.pca_lowrank(sample, q=rank, center=True)
    coordinates = torch.cat([(data.samples(index).flatten(1) - mean) @ directions
                             for index in torch.arange(len(data)).split(chunk)])
    return torch.cat([coordinates, coordinates.new_zeros(len(data), z_dim - rank)], dim=1)


class NoCritic(nn.Module):
    """GLO's place for D: nothing to train, nothing to score with."""

    def forward(self, x, y=None):
        raise RuntimeError("variant=glo has no D to score samples with")


class GLO(GAN):
    has_critic = False
    averages_generator = False  # the codes follow the live G (the module docstring)

    def __init__(self, *args, reconstruction: str = "laplacian", code_lr: float = 10.0, code_init: str = "pca",
                 projection: str = "sphere", **kwargs):
        self.reconstruction, self.code_lr, self.code_init = LOSSES[reconstruction], code_lr, code_init
        self.projection = projection
        super().__init__(*args, **kwargs)
        self.codes = nn.Parameter(torch.empty(0, self.z_dim), requires_grad=False)  # sized by training_data
        self._codes_ready, self._data = False, None

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
            "model.virtual_batch_norm=true": bool(cfg.model.get("virtual_batch_norm", False)),
        }
        for setting, refused in refusals.items():
            if refused:
                raise UserError(f"variant=glo has no D and steps its codes by hand without a loss scale: "
                                f"{setting} has nothing to act on there; drop it")

    def build_networks(self, make_generator, make_discriminator):
        return make_generator(), NoCritic()

    def training_data(self, data):
        """One code per image, placed (zeros) for a checkpoint to fill; drawn at the start of training otherwise."""
        self._data = data
        if len(self.codes) != len(data):
            self.codes = nn.Parameter(torch.zeros(len(data), self.z_dim, device=self.device, dtype=self.codes.dtype))
        return data

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """A checkpoint's codes, whatever size the module holds (a run evaluated again loads before its data)."""
        saved = state_dict.get(prefix + "codes")
        if saved is not None:
            if saved.shape != self.codes.shape:
                self.codes = nn.Parameter(torch.zeros_like(saved, device=self.codes.device, dtype=self.codes.dtype))
            self._codes_ready = True
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def on_train_start(self) -> None:
        if not self._codes_ready:  # a fresh run (a resumed one loaded its codes): rank 0's draw, on every rank
            with torch.random.fork_rng(devices=[]), torch.no_grad():  # training's random streams untouched
                if self.code_init == "pca":
                    torch.manual_seed(0)  # the data's own directions: the same whatever the seed or the ranks
                    start = principal_codes(self._data, self.z_dim)
                else:
                    start = torch.randn(len(self._data), self.z_dim)
                self.codes.copy_(project(start, self.projection))
                distributed.broadcast_from_main(self.codes.data)
            self._codes_ready = True
        super().on_train_start()

    def sample_latent(self, n, labels=None, real=None, index=None):
        """The batch's codes in training; draws from the Gaussian fitted to the codes in evaluation."""
        if index is not None:
            return self.codes[index.to(self.device)], None
        codes = self.codes.detach()
        eye = torch.eye(self.z_dim, device=self.device, dtype=codes.dtype)
        factor = torch.linalg.cholesky(torch.cov(codes.T) + 1e-6 * eye)
        noise = draws.latent("normal", n, self.z_dim, device=self.device).to(codes.dtype)
        return codes.mean(0) + noise @ factor.T, None

    def g_objective(self, batch):
        """The reconstruction alone: there is no D to score the samples."""
        terms = {"g_recon": self.reconstruction(batch.fake.x, batch.real.x)}
        if self.g_average is not None:
            terms["g_hist_avg"] = self.g_average.penalty()
        return sum(terms.values()), {"g_loss": terms["g_recon"], **terms}

    def after_g_step(self) -> None:
        """The codes' own SGD step (G's optimizer holds none of them)."""
        grad = self.codes.grad
        distributed.average_gradients([self.codes])
        schedule = self.optimizers().param_groups[0]["lr"] / float(self.opt_cfg["lr_g"])  # G's decay applies too
        with torch.no_grad():
            rows = grad.abs().sum(1).nonzero().flatten()  # the batch's codes: the only ones with a gradient
            self.codes[rows] = project(self.codes[rows] - schedule * self.code_lr * grad[rows], self.projection)
        self.codes.grad = None

    def variant_metrics(self, evaluation):
        def reconstruct(x, index):
            return self.generate(self.codes[index.to(self.device)])
        metrics = reconstruction_metrics(evaluation, reconstruct)
        pairs = self.codes.detach()[evaluation.data.reference_index(2 * INTERPOLATION_ROWS).to(self.device)]
        weights = torch.linspace(0, 1, INTERPOLATION_STEPS, device=self.device).view(1, -1, 1)
        path = project((1 - weights) * pairs[0::2, None] + weights * pairs[1::2, None], self.projection)
        evaluation.grid("interpolations", self.generate(path.flatten(0, 1)).float().cpu(), INTERPOLATION_STEPS)
        return metrics
