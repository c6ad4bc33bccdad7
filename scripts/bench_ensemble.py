"""How to train K seeds of one small GAN at once: the mechanisms, timed per iteration and per member.

    .venv/bin/python scripts/bench_ensemble.py [--ks 1,4,8,16,32] [--threads 1,2] [--steps 30] [--nets toy,dcgan]

One iteration is a D step and a G step (NS loss, Adam, batch 128 real samples per member), for
- plain: K separate nets stepped one after another (what K solo runs cost, without their process overhead);
- stacked: one net of K members (gan_runner/ensemble/: linear layers as batched matrix products over (K, out, in)
  weights, convolutions grouped over K*C channels, BatchNorm over K*C channels), each member's loss its own;
- vmap: torch.func.stack_module_state + functional_call under torch.vmap over the same plain nets.
Nets: the toy catalogue's MLP (width 64, depth 3, 2-D points) and the default DCGAN (width 32, 28 px). Inputs are
random tensors of the data's shape (a timing needs no real data). Prints ms per iteration per member and each
mechanism's throughput against plain; the median of `--rounds` rounds, the mechanisms alternating in each.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state

sys.path.insert(0, str(Path(__file__).parents[1]))
from gan_runner.ensemble.nets import StackedDiscriminator, StackedGenerator  # noqa: E402
from gan_runner.nets.dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: E402
from gan_runner.nets.mlp import MLPDiscriminator, MLPGenerator  # noqa: E402

BATCH = 128
NETS = {  # name -> (make G, make D, sample shape)
    "toy": (lambda: MLPGenerator(2, [2], width=64, depth=3), lambda: MLPDiscriminator([2], width=64, depth=3), [2]),
    "dcgan": (lambda: DCGANGenerator(100, [1, 28, 28], width=32), lambda: DCGANDiscriminator([1, 28, 28], width=32),
              [1, 28, 28]),
}


def adam(params):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def gan_step(g, d, opt_g, opt_d, real, lead):
    """One D step and one G step; the scores ([K, N], or [N] for one plain net) are averaged per member, summed.
    `lead` is the latents' leading shape: (N,) or (K, N)."""
    fake = g(torch.randn(*lead, g.z_dim)).detach()
    loss_d = (F.softplus(-d(real)).mean(-1) + F.softplus(d(fake)).mean(-1)).sum()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    loss_g = F.softplus(-d(g(torch.randn(*lead, g.z_dim)))).mean(-1).sum()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()


def members(make, k):
    return [make() for _ in range(k)]


def plain(net, k):
    make_g, make_d, shape = NETS[net]
    pairs = [(g, d, adam(g.parameters()), adam(d.parameters())) for g, d in zip(members(make_g, k),
                                                                                  members(make_d, k))]
    real = torch.rand(BATCH, *shape) * 2 - 1

    def step():
        for g, d, opt_g, opt_d in pairs:
            gan_step(g, d, opt_g, opt_d, real, (BATCH,))
    return step


def together(wrap_g, wrap_d):
    """The step of K members trained as one net: G and D made by wrapping K plain nets."""
    def make(net, k):
        make_g, make_d, shape = NETS[net]
        g, d = wrap_g(members(make_g, k)), wrap_d(members(make_d, k))
        opt_g, opt_d = adam(g.parameters()), adam(d.parameters())
        real = torch.rand(k, BATCH, *shape) * 2 - 1
        return lambda: gan_step(g, d, opt_g, opt_d, real, (k, BATCH))
    return make


class Vmapped(torch.nn.Module):
    """K plain nets as stacked parameters and buffers, called through vmap(functional_call)."""

    def __init__(self, nets):
        super().__init__()
        params, buffers = stack_module_state(nets)
        self.params = torch.nn.ParameterDict({n.replace(".", "/"): torch.nn.Parameter(p) for n, p in params.items()})
        self.buffers_ = {n: b for n, b in buffers.items()}
        self.base = nets[0]
        self.z_dim = getattr(nets[0], "z_dim", None)

    def forward(self, x):
        params = {n.replace("/", "."): p for n, p in self.params.items()}
        call = lambda p, b, xk: functional_call(self.base, (p, b), (xk,))  # noqa: E731
        return torch.vmap(call, randomness="different")(params, self.buffers_, x)


MECHANISMS = {"plain": plain, "stacked": together(StackedGenerator, StackedDiscriminator),
              "vmap": together(Vmapped, Vmapped)}


def seconds(step, steps):
    step()  # warm-up: first calls allocate
    began = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - began) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", default="1,4,8,16,32")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nets", default="toy,dcgan")
    args = parser.parse_args()
    print("| net | threads | K | " + " | ".join(f"{m} ms/member" for m in MECHANISMS)
          + " | stacked vs plain | vmap vs plain |")
    print("|---|---|---|" + "---|" * (len(MECHANISMS) + 2))
    for net in args.nets.split(","):
        for threads in map(int, args.threads.split(",")):
            torch.set_num_threads(threads)
            for k in map(int, args.ks.split(",")):
                torch.manual_seed(0)
                steps = {name: make(net, k) for name, make in MECHANISMS.items()}
                times = {name: [] for name in MECHANISMS}
                for _ in range(args.rounds):
                    for name, step in steps.items():
                        times[name].append(seconds(step, args.steps) / k)
                ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
                print(f"| {net} | {threads} | {k} | " + " | ".join(f"{ms[m]:.3f}" for m in MECHANISMS)
                      + f" | {ms['plain'] / ms['stacked']:.2f}x | {ms['plain'] / ms['vmap']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
