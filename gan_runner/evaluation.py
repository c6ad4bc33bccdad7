"""Evaluate a module's generator: metrics on generated samples, and pictures of them.

An evaluation leaves the module exactly as it found it (`untouched`): every net in eval mode, so that spectral
normalization's power iteration and BatchNorm's statistics stand still, and every RNG stream forked, so that
instance noise, latents and metric subsets draw nothing from training's streams. Generation uses a fixed seed, so
two evaluations of the same weights give the same numbers, and resumed runs stay exact.
"""
import contextlib
from pathlib import Path

import torch
from omegaconf import DictConfig

from gan_runner import dashboard, draws, plots
from gan_runner.data.dataset import GanData
from gan_runner.metrics.toy import critic_w1_estimate, exact_w1, mode_metrics

EVAL_SEED = 12345


@contextlib.contextmanager
def untouched(module):
    """The module in eval mode, with no gradients and forked RNG streams, restored afterwards."""
    was_training = module.training
    devices = [module.device] if module.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad(), draws.alone():
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
    """The first n of a fixed permutation of the training set: the same reference for every run."""
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    return data.samples(perm[:n])


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

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        shown = []

        def fakes():
            # Only features are kept of the generated images; the first grid_size are drawn as well.
            for images, _ in generated_batches(module, self.num_samples):
                if sum(map(len, shown)) < self.grid_size:
                    shown.append(images[: self.grid_size].cpu())
                yield images

        with untouched(module):
            result = self.metric(fakes())
        if picture is not None and self.pictures:
            grid = torch.cat(shown)[: self.grid_size]
            dashboard.log_samples(module.logger, plots.save_grid(grid, picture), module.iteration)
        return result


class ToyEvaluation:
    def __init__(self, cfg: DictConfig, data: GanData, device: torch.device):
        self.data, self.num_samples, self.pictures = data, cfg.num_samples, cfg.pictures
        self.real = reference(data, cfg.num_samples)
        self.protocol = {"num_real": cfg.num_samples, "num_fake": cfg.num_samples, "mode_radius": "3 std",
                         "w1": "exact optimal matching, Euclidean cost",
                         "reference": "first n of a fixed permutation of the training points"}

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        def critic(x):
            return module.critic(x.to(module.device)).cpu()

        with untouched(module):
            fake, _ = generate(module, self.num_samples)
            result = mode_metrics(fake, self.data.centers, self.data.std)
            result["w1"] = exact_w1(self.real, fake)
            result["critic_w1"] = critic_w1_estimate(critic, self.real, fake)
            if picture is not None and self.pictures:
                title = f"modes {result['modes']:.0f}  HQ {result['hq_percent']:.1f}%  W1 {result['w1']:.3f}"
                pixels = plots.save_scatter(self.real[:1000], fake[:1000], critic, picture, title)
                dashboard.log_samples(module.logger, pixels, module.iteration)
        return result


def build_evaluation(cfg: DictConfig, data: GanData, device: torch.device):
    kind = ImageEvaluation if data.kind == "image" else ToyEvaluation
    return kind(cfg, data, device)
