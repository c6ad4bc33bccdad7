"""Evaluate a module's generator: metrics on generated samples, and pictures of them.

Generation uses a fixed seed inside `fork_rng`, so evaluating never moves the training RNG (exact resume) and two
evaluations of the same weights give the same numbers.
"""
from pathlib import Path

import torch
from omegaconf import DictConfig

from gan_runner import dashboard, plots
from gan_runner.data.dataset import GanData
from gan_runner.errors import UserError
from gan_runner.metrics.toy import critic_w1_estimate, exact_w1, mode_metrics

EVAL_SEED = 12345


@torch.no_grad()
def generate(module, n: int, seed: int = EVAL_SEED, batch: int = 500) -> torch.Tensor:
    """n samples from the module's evaluation generator (EMA when enabled), in eval mode."""
    sampler = module.sampler()
    was_training = sampler.training
    sampler.eval()
    devices = [module.device] if module.device.type == "cuda" else []
    chunks = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for start in range(0, n, batch):
            m = min(batch, n - start)
            labels = torch.randint(max(module.num_classes, 1), (m,), device=module.device)
            chunks.append(sampler(module.sample_latent(m, labels)).cpu())
    sampler.train(was_training)
    return torch.cat(chunks)


def reference(x: torch.Tensor, n: int) -> torch.Tensor:
    """The first n of a fixed permutation of the training set: the same reference for every run."""
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return x[perm[:n]]


class ImageEvaluation:
    def __init__(self, cfg: DictConfig, data: GanData, device: torch.device):
        from gan_runner.metrics.extractor import load_inception, load_or_train_extractor
        from gan_runner.metrics.image import ImageEvaluator

        if cfg.extractor == "inception":
            extractor, protocol = load_inception(cfg.inception_weights), {"extractor": "inception"}
        elif data.y is None:
            raise UserError(f"data={data.name} has no labels to train the LeNet feature space on: use "
                            "metrics.extractor=inception metrics.inception_weights=<file>")
        else:
            dataset_id = f"{data.name}-{'x'.join(map(str, data.x.shape[1:]))}"
            extractor, protocol = load_or_train_extractor(data.x, data.y, dataset_id, cfg.cache_dir, data.num_classes)
        self.num_samples, self.grid_size, self.pictures = cfg.num_samples, cfg.grid_size, cfg.pictures
        self.metric = ImageEvaluator(data.x, extractor.to(device), protocol, cfg.num_samples,
                                     cfg.kid_subset_size, device=device)
        self.protocol = self.metric.protocol

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        fake = generate(module, self.num_samples)
        if picture is not None and self.pictures:
            dashboard.log_samples(module.logger, plots.save_grid(fake[: self.grid_size], picture), module.iteration)
        return self.metric(fake)


class ToyEvaluation:
    def __init__(self, cfg: DictConfig, data: GanData, device: torch.device):
        if cfg.num_samples > len(data.x):
            raise UserError(f"metrics.num_samples={cfg.num_samples} exceeds the {len(data.x)} training points")
        self.data, self.num_samples, self.pictures = data, cfg.num_samples, cfg.pictures
        self.real = reference(data.x, cfg.num_samples)
        self.protocol = {"num_real": cfg.num_samples, "num_fake": cfg.num_samples, "mode_radius": "3 std",
                         "w1": "exact optimal matching, Euclidean cost",
                         "reference": "first n of a fixed permutation of the training points"}

    def __call__(self, module, picture: Path | None = None) -> dict[str, float]:
        fake = generate(module, self.num_samples)

        def critic(x):
            return module.critic(x.to(module.device), labels=None).detach().cpu()

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
