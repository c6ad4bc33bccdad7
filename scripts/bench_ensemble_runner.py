"""The ensemble through the runner against the same seeds run alone: what hydra/launcher=ensemble gains.

    .venv/bin/python scripts/bench_ensemble_runner.py [--ks 1,4,8,16,32] [--threads 1,2] [--nets toy,dcgan]
        [--steps 40] [--catalogue SEEDS] [--constraints ...] [--memory toy:1,toy:32,dcgan:1,dcgan:8] [--device cpu]

1. Per-iteration time per member: the GAN module of one seed against the ensemble module of K seeds, each trained
   through Lightning as the runner trains it (build_module, the batch streams, Trainer.fit), the time of `--steps`
   iterations less that of a quarter of them (set-up left out). toy: the toy catalogue's recipe (ring, MLP width 64,
   depth 3, batch 128, Adam); dcgan: the default run's nets (model=dcgan_fc) on MNIST, batch 64.
2. --catalogue S: the toy catalogue's 12 constraints (or --constraints) with loss ns on the ring, 700 iterations, S
   seeds each, through
   the whole runner (folders, evaluations, checkpoints): each run alone (run.py), then each configuration's seeds
   as one ensemble (ensemble/run.py); their wall times, the ratio, and both extrapolated to the 648 runs of the
   catalogue (216 configurations of 3 seeds at the sample's mean time per run).
3. --memory NET:K,...: the resident memory of a fresh process that trains 20 iterations of each ensemble (K = 1: one
   seed alone), after its imports and data, after training, and its peak.
Every number of one call is measured in that call, under the same load.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L
import torch
from hydra import compose, initialize_config_dir

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
from gan_runner.build import build_module, instantiate  # noqa: E402
from gan_runner.data.stream import BatchStream  # noqa: E402
from gan_runner.ensemble.stream import EnsembleStream  # noqa: E402

NETS = {
    "toy": ["experiment=toy_ring", "model.width=64", "data.batch_size=128"],
    "dcgan": [],  # the default run: model=dcgan_fc, optimizer=adam_infogan, MNIST
}
CATALOGUE = ["experiment=toy_ring", "loss=ns", "model.width=64", "data.batch_size=128", "trainer.max_steps=700",
             "metrics.every_n_steps=0", "metrics.pictures=false", "trainer.enable_progress_bar=false",
             "checkpoint_every_n_steps=700"]
CONSTRAINTS = ["none", "clip", "gp", "lp", "r1", "r2", "dragan", "div", "sn", "gn", "gran", "noise"]


def config(overrides: list[str], out="unused"):
    with initialize_config_dir(str(ROOT / "gan_runner" / "conf"), version_base="1.3"):
        return compose("config", overrides=[*overrides, f"output_dir={out}"])


def fit_seconds(cfg, seeds: list[int], steps: int, device: str) -> float:
    """Seconds of Trainer.fit over `steps` iterations of the module of `seeds` (one seed: the plain module)."""
    data = instantiate(cfg.data.source)
    module = build_module(cfg, data, ensemble_seeds=seeds if len(seeds) > 1 else None)
    streams = [BatchStream(data, cfg.data.batch_size, module.n_critic, steps, seed) for seed in seeds]
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator=device, devices=1,
                        log_every_n_steps=cfg.trainer.log_every_n_steps)
    began = time.perf_counter()
    trainer.fit(module, EnsembleStream(streams) if len(seeds) > 1 else streams[0])
    return time.perf_counter() - began


def per_iteration(cfg, seeds: list[int], steps: int, device: str) -> float:
    short = max(steps // 4, 1)
    return (fit_seconds(cfg, seeds, steps, device) - fit_seconds(cfg, seeds, short, device)) / (steps - short)


def timing(args) -> None:
    print("| net | threads | K | alone ms/iteration | ensemble ms/iteration/member | throughput vs alone |")
    print("|---|---|---|---|---|---|")
    for net in args.nets.split(","):
        cfg = config(NETS[net])
        for threads in map(int, args.threads.split(",")):
            torch.set_num_threads(threads)
            alone = per_iteration(cfg, [0], args.steps, args.device)
            for k in map(int, args.ks.split(",")):
                member = alone if k == 1 else per_iteration(cfg, list(range(k)), args.steps, args.device) / k
                print(f"| {net} | {threads} | {k} | {1000 * alone:.2f} | {1000 * member:.2f} | "
                      f"{alone / member:.2f}x |", flush=True)


def catalogue(seeds: int, steps: int | None, constraints: list[str]) -> None:
    from gan_runner.ensemble.run import train_together
    from gan_runner.run import run

    recipe = [*CATALOGUE, *([f"trainer.max_steps={steps}", f"checkpoint_every_n_steps={steps}"] if steps else [])]
    with tempfile.TemporaryDirectory() as tmp:
        cfgs = {c: [config([*recipe, f"constraint={c}", f"seed={s}"], f"{tmp}/{mode}/{c}/{s}")
                    for mode in ("alone", "together") for s in range(seeds)] for c in constraints}
        began = time.perf_counter()
        for c in constraints:
            for cfg in cfgs[c][:seeds]:
                run(cfg)
        alone = time.perf_counter() - began
        began = time.perf_counter()
        refused = [c for c in constraints if train_together(cfgs[c][seeds:])]
        together = time.perf_counter() - began
    runs = len(constraints) * seeds
    print(f"catalogue sample: {runs} runs (ring, ns, {len(constraints)} constraints x {seeds} seeds), alone "
          f"{alone:.1f} s, as {len(constraints)} ensembles {together:.1f} s: {alone / together:.2f}x faster"
          + (f" (refused: {', '.join(refused)})" if refused else ""))
    print(f"the 648-run catalogue at these rates: alone {648 * alone / runs / 60:.1f} min, "
          f"ensembles of 3 seeds {648 * together / runs / 60:.1f} min (if the sample's seeds were 3)")


def rss_mib(net: str, k: int, device: str) -> tuple[float, float, float]:
    """A fresh process's resident memory (MiB): after its imports and data, after 20 iterations of K members, and its
    peak (Linux /proc/self/status: VmRSS now, VmHWM the peak)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); import bench_ensemble_runner as b; "
            f"cfg = b.config(b.NETS[{net!r}]); b.instantiate(cfg.data.source); print(b.status('VmRSS')); "
            f"b.fit_seconds(cfg, list(range({k})), 20, {device!r}); print(b.status('VmRSS'), b.status('VmHWM'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    before, after, peak = (int(v) / 1024 for v in out.stdout.split()[-3:])
    return before, after, peak


def status(field: str) -> int:
    """A field of /proc/self/status in KiB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1])


def memory(which: str, device: str) -> None:
    print("| net | K | RSS MiB after imports and data | after 20 iterations | training's part | peak |")
    print("|---|---|---|---|---|---|")
    for net, k in (item.split(":") for item in which.split(",")):
        before, after, peak = rss_mib(net, int(k), device)
        print(f"| {net} | {k} | {before:.0f} | {after:.0f} | {after - before:.0f} | {peak:.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", default="1,4,8,16,32")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--nets", default="toy,dcgan")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--catalogue", type=int, default=0, metavar="SEEDS")
    parser.add_argument("--catalogue-steps", type=int, default=None, help="instead of the catalogue's 700")
    parser.add_argument("--constraints", nargs="+", default=CONSTRAINTS, choices=CONSTRAINTS)
    parser.add_argument("--memory", default="", metavar="NET:K,...", help="e.g. toy:1,toy:32,dcgan:1,dcgan:8")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    L.seed_everything(0, verbose=False)
    if args.nets:
        timing(args)
    if args.catalogue:
        catalogue(args.catalogue, args.catalogue_steps, args.constraints)
    if args.memory:
        memory(args.memory, args.device)
    print(json.dumps({"peak_rss_mib_this_process": status("VmHWM") // 1024}))


if __name__ == "__main__":
    main()
