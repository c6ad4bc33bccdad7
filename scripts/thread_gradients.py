"""Do a run's gradients depend on the CPU thread count beyond rounding? Two thread counts sum in different orders, so
the same seed trains along different trajectories; this tells that apart from a kernel that computes something else.

    .venv/bin/python scripts/thread_gradients.py <run dir> [--threads 1 2] [--batch 128]

Builds the run's nets from its config.yaml, loads its last checkpoint's weights, and at each thread count takes the
gradient of mean D(G(z)) + mean D(x) over the same batch (the nets in training mode, as in training). Prints, per
parameter, the relative difference to the first thread count's gradient: rounding gives about 1e-6. Parameters
whose true gradient is zero (a bias under BatchNorm) show noise against noise and are marked. Conditional variants
get the real batch's labels, as in training; heads off D's score path (InfoGAN's Q, AC-GAN's classifier) get no
gradient here and are not listed.
"""
import argparse
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).parents[1]))
from gan_runner.build import build_module, instantiate  # noqa: E402
from gan_runner.checkpoint import last_checkpoint, load_weights  # noqa: E402


def gradients(module, real, labels, threads: int) -> dict[str, torch.Tensor]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    module.zero_grad()
    z, y = module.sample_latent(len(real), labels, real)
    (module.critic(module.generate(z, y), y).mean() + module.critic(real, labels).mean()).backward()
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--threads", type=int, nargs=2, default=[1, 2])
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    cfg = OmegaConf.load(args.run_dir / "config.yaml")
    data = instantiate(cfg.data.source)
    module = build_module(cfg, data)
    load_weights(module, last_checkpoint(args.run_dir))
    module.train()
    index = torch.arange(args.batch)
    real, labels = data.samples(index), None if data.y is None else data.y[index]
    first, second = (gradients(module, real, labels, t) for t in args.threads)
    print(f"| parameter | gradient norm | relative difference, {args.threads[0]} vs {args.threads[1]} threads |")
    print("|---|---|---|")
    largest = max(grad.norm() for grad in first.values())
    for name, grad in first.items():
        difference = ((grad - second[name]).norm() / grad.norm().clamp_min(1e-30)).item()
        zero = " (zero gradient: noise)" if grad.norm() < 1e-5 * largest else ""
        print(f"| {name} | {grad.norm():.2e} | {difference:.1e}{zero} |")


if __name__ == "__main__":
    main()
