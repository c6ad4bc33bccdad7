"""Evaluate a module's generator: metrics on generated samples, and pictures of them.

An evaluation leaves the module exactly as it found it (`untouched`): every net in eval mode, so that spectral
normalization's power iteration and BatchNorm's statistics stand still, and every RNG stream forked, so that
instance noise, latents and metric subsets draw nothing from training's streams. Generation uses a fixed seed, so
two evaluations of the same weights give the same numbers, and resumed runs stay exact. Under DDP rank 0 evaluates
alone (`distributed.alone`): its draws and collectives act as on one process, none waits for the training ranks.
"""
import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig

from gan_runner import dashboard, distributed, plots
from gan_runner.callbacks import ParameterTrajectory
from gan_runner.data.dataset import GanData
from gan_runner.data.stacked import StackedDigits
from gan_runner.errors import UserError
from gan_runner.metrics import dynamics, stacked
from gan_runner.metrics.classes import ClassMetrics, gaussian
from gan_runner.metrics.extractor import LeNetFeatures, load_or_train_extractor
from gan_runner.metrics.toy import critic_w1_estimate, exact_w1, mode_metrics
from gan_runner.modules.consensus import player_params

EVAL_SEED = 12345
PER_CLASS = 8  # samples of each class in the picture of a conditional generator


@contextlib.contextmanager
def untouched(module):
    """The module in eval mode, with no gradients and forked RNG streams, restored afterwards."""
    was_training = module.training
    devices = [module.device] if module.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad(), distributed.alone():
        module.eval()
        try:
            yield
        finally:
            module.train(was_training)


def balanced_labels(n: int, num_classes: int) -> torch.Tensor | None:
    """0, 1, ..., K-1, 0, 1, ...: every class equally often (None for unlabelled data)."""
    return torch.arange(n) % num_classes if num_classes else None


def generated_batches(module, n: int, seed: int = EVAL_SEED, batch: int = 500):
    """n samples from the module's evaluation generator (EMA when enabled), batch by batch on its device, each with
    the labels it was asked for (balanced classes; None when G is unconditional). Call inside `untouched(module)`."""
    torch.manual_seed(seed)
    labels = balanced_labels(n, module.num_classes)
    for start in range(0, n, batch):
        wanted = labels[start:start + batch].to(module.device) if labels is not None else None
        z, y = module.sample_latent(min(batch, n - start), wanted)
        yield module.generate(z, y, module.sampler()).float(), (labels[start:start + batch] if y is not None else None)


def generate(module, n: int, seed: int = EVAL_SEED) -> tuple[torch.Tensor, torch.Tensor | None]:
    """All n at once, on the CPU (see `generated_batches`)."""
    images, labels = zip(*generated_batches(module, n, seed))
    return torch.cat(images).cpu(), (torch.cat(labels) if labels[0] is not None else None)


def reference(data: GanData, n: int) -> torch.Tensor:
    return data.samples(data.reference_index(n))


def class_metrics(cfg: DictConfig, data: GanData, device: torch.device, extractor) -> ClassMetrics | None:
    """The class metrics of labelled images, with the LeNet classifier (the FID extractor itself when it is one)."""
    if data.y is None:
        return None
    classifier = extractor if isinstance(extractor, LeNetFeatures) else load_or_train_extractor(data, cfg.cache_dir)[0]
    index = data.reference_index(cfg.num_samples)
    return ClassMetrics(classifier, data.samples(index), data.y[index], data.num_classes, device)


@dataclass
class VariantEvaluation:
    """What a variant's own evaluation (GAN.variant_metrics) gets: the domain classifier (images -> logits; None
    for unlabelled data), the whole data set, `grid` to save and log a picture beside the samples, and the run's
    image metrics (FID, IS, KID, PRDC of batches of images against the run's real reference, `num_samples` of them
    for the samples) and the domain classifier's features, to measure other images as the samples are."""

    classifier: Callable[[torch.Tensor], torch.Tensor] | None
    data: GanData
    picture: Path | None = None
    logger: object = None
    iteration: int = 0
    image_metrics: Callable[[Iterable[torch.Tensor]], dict[str, float]] | None = None
    domain_features: Callable[[torch.Tensor], torch.Tensor] | None = None
    num_samples: int = 0

    def grid(self, name: str, images: torch.Tensor, per_row: int) -> None:
        if self.picture is not None:
            pixels = plots.save_grid(images, self.picture.with_name(f"{self.picture.stem}_{name}.png"), per_row)
            dashboard.log_samples(self.logger, pixels, self.iteration, name)


def by_class(images: torch.Tensor, labels: torch.Tensor, per_class: int = PER_CLASS) -> torch.Tensor:
    """Up to `per_class` images of each class, class after class: a grid with one row per class."""
    return torch.cat([images[labels == c][:per_class] for c in labels.unique().tolist()])


class ImageEvaluation:
    def __init__(self, cfg: DictConfig, data: GanData, device: torch.device):
        from gan_runner.metrics import spaces
        from gan_runner.metrics.image import ImageEvaluator

        extractor, protocol = spaces.feature_space(cfg, data)
        extractor = extractor.to(device)
        real = spaces.reference(cfg, data, extractor, device)
        self.num_samples, self.grid_size, self.pictures = cfg.num_samples, cfg.grid_size, cfg.pictures
        self.metric = ImageEvaluator(extractor, real, protocol, cfg.num_samples, cfg.kid_subset_size, device=device)
        self.protocol = self.metric.protocol
        self.data, self.classes = data, class_metrics(cfg, data, device, extractor)

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        shown = picture if self.pictures else None
        kept, classified, given = [], [], []
        wanted = PER_CLASS * module.num_classes if module.num_classes else self.grid_size  # one row per class

        def fakes():
            # Only features are kept of the generated images (and the first few, for the picture).
            for images, labels in generated_batches(module, self.num_samples):
                if sum(map(len, kept)) < wanted:
                    kept.append(images[:wanted].cpu())
                if self.classes is not None:
                    classified.append(self.classes.classify(images))
                given.append(labels)
                yield images

        with untouched(module):
            result = self.metric(fakes())
            extra = module.variant_metrics(VariantEvaluation(
                self.classes and self.classes.logits, self.data, shown, module.logger, module.iteration, self.metric,
                self.classes and (lambda images: self.classes.classify(images)[0]), self.num_samples))
        labels = torch.cat(given) if given[0] is not None else None
        if shown is not None:
            fake = torch.cat(kept)[:wanted]
            grid, per_row = (fake, None) if labels is None else (by_class(fake, labels[:len(fake)]), PER_CLASS)
            dashboard.log_samples(module.logger, plots.save_grid(grid, shown, per_row), module.iteration)
        if self.classes is not None:
            features, logits = (torch.cat(part) for part in zip(*classified))
            result.update(self.classes.scores(features, logits, labels))
        return {**result, **extra}


class ToyEvaluation:
    def __init__(self, cfg: DictConfig, data: GanData, device: torch.device):
        self.data, self.num_samples, self.pictures = data, cfg.num_samples, cfg.pictures
        self.real = reference(data, cfg.num_samples)
        self.protocol = {"num_real": cfg.num_samples, "num_fake": cfg.num_samples, "mode_radius": "3 std",
                         "w1": "exact optimal matching, Euclidean cost",
                         "reference": "first n of a fixed permutation of the training points"}

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        def critic(x):  # each point's score (a packed D: of a pack of copies of it), for the picture
            return module.point_scores(x.to(module.device)).cpu()

        def packs(x):  # a packed D's scores of packs of consecutive samples, the remainder of a pack left out
            return module.critic(x[:len(x) - len(x) % module.pack].to(module.device)).cpu()

        with untouched(module):
            fake, _ = generate(module, self.num_samples)
            result = mode_metrics(fake, self.data.centers, self.data.std)
            result["w1"] = exact_w1(self.real, fake)
            result["critic_w1"] = critic_w1_estimate(packs, self.real, fake)
            if picture is not None and self.pictures:
                title = f"modes {result['modes']:.0f}  HQ {result['hq_percent']:.1f}%  W1 {result['w1']:.3f}"
                pixels = plots.save_scatter(self.real[:1000], fake[:1000], critic, picture, title)
                dashboard.log_samples(module.logger, pixels, module.iteration)
        return result


class DiracEvaluation:
    """The Dirac-GAN evaluated as a game (Mescheder, Geiger & Nowozin 2018, §2.2): where the iterate (θ, ψ) ended,
    its distance to the equilibrium (0, 0) and whether it is below `metrics.tolerance`; the eigenvalues, at the
    equilibrium, of the Jacobian of the training dynamics' field and of one iteration's update map, by autograd
    through the module's own objectives (metrics/dynamics.py); and the picture of the trajectory over the field.

    θ is G's own parameter, not its EMA: an average of a cycle sits near the equilibrium and would hide that the
    iterates never get there (the EMA's θ is reported beside it, as `ema_theta`, when there is one).
    """

    def __init__(self, cfg: DictConfig, data: GanData, device: torch.device):
        if cfg.num_samples > len(data):
            raise UserError(f"metrics.num_samples={cfg.num_samples} exceeds the {len(data)} points of data=dirac: "
                            "raise data.source.n")
        self.real, self.tolerance, self.pictures = reference(data, cfg.num_samples), cfg.tolerance, cfg.pictures
        self.trajectory = ParameterTrajectory()
        self.callbacks = [self.trajectory]  # run.py adds them to the trainer: (θ, ψ) after every iteration
        self.protocol = {
            "equilibrium": "(theta, psi) = (0, 0)", "distance": "|(theta, psi)| of the last iterate (not the EMA)",
            "converged": f"distance < metrics.tolerance = {cfg.tolerance}",
            "jacobians": f"autograd through the module's objectives at (0, 0), {cfg.num_samples} latents and noise "
                         "draws; field: -dw/dx of the players' gradients w; update: plain gradient descent with "
                         "optimizer.lr_g and lr_d (no momentum, no Adam scaling), simultaneous or alternating with "
                         "n_critic D steps; NaN where the field has a kink at (0, 0)",
        }

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        real = self.real.to(module.device)
        with untouched(module):
            g_params, d_params = player_params(module)
            point = torch.cat([p.detach().reshape(-1) for p in g_params + d_params]).double().cpu()
            theta, psi = point.tolist()
            distance = float(point.norm())
            result = {"theta": theta, "psi": psi, "distance": distance,
                      "converged": float(distance < self.tolerance)}
            result.update(self.equilibrium(module, real, len(point)))
            if module.ema is not None:
                result["ema_theta"] = float(next(module.ema.parameters()).reshape(-1)[0])
            if picture is not None:
                points = self.trajectory.points()
                points = points if len(points) else point[None]
                self.write_points(points, picture.with_suffix(".csv"))
                if self.pictures:
                    pixels = plots.save_trajectory(points, self.flow(module, real), picture,
                                                   self.title(module, result, len(points) - 1))
                    dashboard.log_samples(module.logger, pixels, module.iteration)
        return result

    def equilibrium(self, module, real: torch.Tensor, size: int) -> dict[str, float]:
        origin = torch.zeros(size, dtype=torch.float64)
        with dynamics.at(module, origin):
            _, jacobian = dynamics.field_and_jacobian(module, real)
            smooth = dynamics.smooth_at(module, real, origin, jacobian)
        n_g = sum(p.numel() for p in player_params(module)[0])
        update = dynamics.update_jacobian(jacobian, n_g, module.opt_cfg["lr_g"], module.opt_cfg["lr_d"],
                                          module.simultaneous, module.n_critic, module.g_steps)
        unknown = [complex(math.nan, math.nan)] * size
        field = dynamics.eigenvalues(-jacobian) if smooth else unknown
        step = dynamics.eigenvalues(update) if smooth else unknown
        result = {}
        for name, values in (("field", field), ("update", step)):
            for i, value in enumerate(values, 1):
                result[f"{name}_eig{i}_re"], result[f"{name}_eig{i}_im"] = value.real, value.imag
        # Locally convergent for small steps when every field eigenvalue has a negative real part; for these
        # learning rates when the update map's spectral radius is below 1.
        result["field_max_re"] = max(v.real for v in field)
        result["update_radius"] = max(abs(v) for v in step)
        return result

    @staticmethod
    def flow(module, real: torch.Tensor):
        """(θ, ψ) -> the direction training moves in, -w(θ, ψ), on a smaller batch (a picture, not a measurement)."""
        def direction(theta: float, psi: float) -> tuple[float, float]:
            with dynamics.at(module, torch.tensor([theta, psi], dtype=torch.float64)):
                return tuple((-dynamics.field(module, real[:256])[1]).tolist())

        return direction

    @staticmethod
    def title(module, result: dict, iterations: int) -> str:
        constraints = "+".join(type(c).__name__ for c in module.constraints.items) or "no constraint"
        rule = "simultaneous" if module.simultaneous else "alternating"
        rule += f", consensus γ={module.consensus:g}" if module.consensus else ""
        rule += f", n_critic={module.n_critic}" if module.n_critic > 1 else ""
        rule += f", g_steps={module.g_steps}" if module.g_steps > 1 else ""
        verdict = "converged" if result["converged"] else "not converged"
        radius = result["update_radius"]
        local = "no Jacobian at (0, 0): a kink" if math.isnan(radius) else f"update-map radius {radius:.4g}"
        return (f"{type(module.loss).__name__}, {constraints}, {rule}, lr {module.opt_cfg['lr_g']:g}/"
                f"{module.opt_cfg['lr_d']:g}\n{iterations} iterations: distance {result['distance']:.3g} "
                f"({verdict}); {local}")

    @staticmethod
    def write_points(points: torch.Tensor, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [f"{i},{t:.9g},{p:.9g}" for i, (t, p) in enumerate(points.double().tolist())]
        path.write_text("\n".join(["iteration,theta,psi", *rows]) + "\n")


class StackedEvaluation:
    """Stacked MNIST (metrics/stacked.py): the modes of 1,000 that the samples fall in, their KL to uniform, and FID
    in the digits classifier's features of the three channels, against the first num_samples reference stacks."""

    def __init__(self, cfg: DictConfig, data: StackedDigits, device: torch.device):
        classifier, info = load_or_train_extractor(data.digits, cfg.cache_dir)
        self.classify, self.num_samples = stacked.StackedClassifier(classifier, device), cfg.num_samples
        self.grid_size, self.pictures = cfg.grid_size, cfg.pictures
        index = data.reference_index(cfg.num_samples)
        real_modes, real_features = self.classify(data.samples(index))
        self.real = gaussian(real_features)
        self.protocol = {"classifier": "mnist5k's LeNet, each channel", "num_fake": cfg.num_samples,
                         "num_real": cfg.num_samples, "digit_heldout_accuracy": info["heldout_accuracy"],
                         # on mnist5k's own digits, most of which trained the classifier: an upper bound
                         "reference_stacks_read_right": (real_modes == data.modes(index)).double().mean().item(),
                         "reference_stacks": stacked.mode_metrics(real_modes)}

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        modes, features, shown = [], [], []
        with untouched(module):
            for images, _ in generated_batches(module, self.num_samples):
                batch_modes, batch_features = self.classify(images)
                modes.append(batch_modes)
                features.append(batch_features)
                if sum(map(len, shown)) < self.grid_size:
                    shown.append(images[:self.grid_size].cpu())
        result = {**stacked.mode_metrics(torch.cat(modes)), "fid": stacked.fid(self.real, torch.cat(features))}
        if picture is not None and self.pictures:
            grid = plots.save_grid(torch.cat(shown)[:self.grid_size], picture)
            dashboard.log_samples(module.logger, grid, module.iteration)
        return result


def build_evaluation(cfg: DictConfig, data: GanData, device: torch.device):
    """The evaluation of the data's kind: images, 2-D points, or the Dirac-GAN's game; Stacked MNIST's own."""
    if isinstance(data, StackedDigits):
        return StackedEvaluation(cfg, data, device)
    kind = {"image": ImageEvaluation, "points": ToyEvaluation, "dirac": DiracEvaluation}[data.kind]
    return kind(cfg, data, device)
