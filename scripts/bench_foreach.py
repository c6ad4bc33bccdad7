"""Optimizer kernels: the runner's training iterations per second with torch's one-tensor-at-a-time optimizer step
(its default on CPU) and with its foreach kernels (the runner's default), alternating in one process so that
machine noise hits both alike. The weights come out bit for bit the same (tests/test_training_rules.py).

    .venv/bin/python scripts/bench_foreach.py [--rounds 3] [--steps N] [--only infogan]

Prints one row per workload (median it/s over rounds, and the ratio foreach / one at a time).
"""
import argparse
import statistics

import hydra.utils
from bench_overhead import CONF, runner_steps_per_s
from hydra import compose, initialize_config_dir

# workload -> (overrides, iterations per round): a toy MLP, the default DCGAN run, InfoGAN's FC-1024 nets
WORKLOADS = {
    "toy ring, MLP 64, hinge + gp": (["experiment=toy_ring", "model.width=64", "loss=hinge", "constraint=gp"], 300),
    "default run (DCGAN, mnist5k)": ([], 60),
    "experiment=infogan": (["experiment=infogan"], 40),
}
MODES = {"one at a time": "+optimizer.kwargs.foreach=false", "foreach": "+optimizer.kwargs.foreach=true"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, help="iterations per round for every workload (default: its own)")
    parser.add_argument("--only", default="", help="the workloads whose name contains this text")
    args = parser.parse_args()
    print(f"{'workload':<32} {'one at a time it/s':>19} {'foreach it/s':>13} {'ratio':>6}")
    for name, (overrides, steps) in WORKLOADS.items():
        if args.only not in name:
            continue
        steps = args.steps or steps
        speeds = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode, switch in MODES.items():
                with initialize_config_dir(CONF, version_base="1.3"):
                    cfg = compose("config", overrides=["output_dir=/tmp/bench", *overrides, switch])
                speeds[mode].append(runner_steps_per_s(cfg, hydra.utils.instantiate(cfg.data.source), steps))
        single, foreach = (statistics.median(speeds[mode]) for mode in MODES)
        print(f"{name:<32} {single:>19.2f} {foreach:>13.2f} {foreach / single:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
