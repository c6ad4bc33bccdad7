"""Runner overhead: the same nets, loss, batches and EMA through gan-runner's LightningModule and through a plain,
hand-written PyTorch loop, alternating in one process so that machine noise hits both alike.

    .venv/bin/python scripts/bench_overhead.py [--steps 200] [--rounds 5] [overrides ...]

Prints a table of steps/s per round and, as its last line, `overhead ratio (runner/plain steps per s): R`.
"""
import argparse
import copy
import statistics
import time
from pathlib import Path

import hydra.utils
import lightning.pytorch as L
import torch
from hydra import compose, initialize_config_dir

from gan_runner.build import build_module
from gan_runner.data.stream import BatchStream

CONF = str(Path(__file__).parents[1] / "gan_runner" / "conf")


def runner_steps_per_s(cfg, data, steps: int) -> float:
    module = build_module(cfg, data)
    stream = BatchStream(data, cfg.data.batch_size, module.n_critic, steps, seed=0)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    start = time.perf_counter()
    trainer.fit(module, stream)
    return steps / (time.perf_counter() - start)


def plain_steps_per_s(cfg, data, steps: int) -> float:
    """What a researcher would write by hand: the same math, no framework."""
    G = hydra.utils.instantiate(cfg.model.generator)
    D = hydra.utils.instantiate(cfg.model.discriminator)
    ema = copy.deepcopy(G).requires_grad_(False)
    loss = hydra.utils.instantiate(cfg.loss)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.optimizer.lr_g, betas=tuple(cfg.optimizer.kwargs.betas))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.optimizer.lr_d, betas=tuple(cfg.optimizer.kwargs.betas))
    stream = BatchStream(data, cfg.data.batch_size, 1, steps, seed=0)
    ema_params, g_params = list(ema.parameters()), list(G.parameters())
    start = time.perf_counter()
    for t, (reals, _, _) in enumerate(stream):
        real = reals[0]
        with torch.no_grad():
            fake = G(torch.randn(len(real), cfg.model.z_dim))
        d_loss = loss.d_loss(D(real), D(fake))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = loss.g_loss(D(G(torch.randn(len(real), cfg.model.z_dim))))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        with torch.no_grad():
            decay = min(cfg.optimizer.ema_decay, (1 + t) / (10 + t))
            torch._foreach_lerp_(ema_params, g_params, 1.0 - decay)
            for b_ema, b in zip(ema.buffers(), G.buffers()):
                b_ema.copy_(b)
        if not (torch.isfinite(d_loss) and torch.isfinite(g_loss)):
            raise RuntimeError("diverged")
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    with initialize_config_dir(CONF, version_base="1.3"):
        cfg = compose("config", overrides=["output_dir=/tmp/bench", *args.overrides])
    data = hydra.utils.instantiate(cfg.data.source)
    torch.manual_seed(0)
    plain_steps_per_s(cfg, data, 20)  # warm up allocator and kernels before anything is timed
    print(f"{'round':>5} {'runner it/s':>12} {'plain it/s':>11} {'ratio':>6}")
    ratios = []
    for r in range(args.rounds):
        runner = runner_steps_per_s(cfg, data, args.steps)
        plain = plain_steps_per_s(cfg, data, args.steps)
        ratios.append(runner / plain)
        print(f"{r:>5} {runner:>12.2f} {plain:>11.2f} {runner / plain:>6.3f}")
    print(f"model={cfg.model.name} data={cfg.data.name} batch={cfg.data.batch_size} steps/round={args.steps} "
          f"threads={torch.get_num_threads()}; ratio = median over rounds")
    print(f"overhead ratio (runner/plain steps per s): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
