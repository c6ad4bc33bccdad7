"""Configurations compared over seeds: each study is a few arms (sets of gan-runner overrides on one base recipe),
every arm trained with the same new seeds, each metric's mean ± standard error per arm and each arm's difference
from the first (the reference) with an exact permutation test.

    .venv/bin/python scripts/arms_study.py STUDY [--seeds 6] [--jobs 2] [--arms A B ...]
        [--out outputs/arms_study] [--docs docs] [--override KEY=VALUE ...] [--table-only]

Studies: see STUDIES below (`cascade`, `resnet`, `glo`, `ebgan_margin`, `ebgan_pt`, `vaegan`, `vaegan_gamma`,
`deepsim`). Every arm is one `gan-runner -m hydra/launcher=cpus` multirun over seeds 100, 101, ... (no preset was
tuned on them; a tuning study such as `ebgan_margin` takes `--first-seed 0`) into <out>/<study>/<arm>/seed<k>, so the
same command resumes.
A study `at_equal_time` first times each arm (two short probes, two seeds each, run as the arms will run, --jobs at
once): its iterations are then set so that each arm's training takes the study's budget of seconds; the timing is
kept in <out>/<study>/calibration.json and used again on resume. Writes docs/<study>.md (the reading written by hand
below its marker survives) and each arm's first-seed samples as docs/<study>_<arm>.png.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
from gan_runner.studies import mean_se, permutation_p, write_page  # noqa: E402

ROOT = Path(__file__).parents[1]
FIRST_SEED = 100  # the proofs' seeds; tuning (choosing a study's setting) uses 0, 1, ... (--first-seed 0)
COVERAGE = {"fid": "lower", "classes_covered": "higher", "class_kl": "lower", "precision": "higher",
            "recall": "higher"}
# SNGAN's loss and constraint with DCGAN's Adam (lr 2e-4, betas (0.5, 0.999), one D step per G step): within a few
# minutes of CPU, five D steps per G step would leave the ResNet's G a few dozen steps
SNGAN_ONE_STEP = ["data.image_size=32", "loss=hinge", "constraint=[sn]", "optimizer=adam"]
STUDIES = {
    "cascade": {
        "title": "Cascading rejection (Na et al. 2019): a plain D against K = 2 and 3 stages",
        "base": [],  # the default run: mnist5k, dcgan_fc, NS loss, 3,600 iterations
        "arms": {"plain": [], "K2": ["variant=cascade", "variant.stages=2"],
                 "K3": ["variant=cascade", "variant.stages=3"]},
        "metrics": COVERAGE,
    },
    "resnet": {
        "title": "DCGAN against ResNet and ResNet + self-modulation at the same wall time, 32 px",
        "base": SNGAN_ONE_STEP,
        "arms": {"dcgan": ["model=dcgan"],
                 "resnet": ["model=resnet", "model.g_width=64", "model.d_width=64"],
                 "resnet_selfmod": ["model=resnet", "model.g_width=64", "model.d_width=64", "model.self_mod=true"]},
        "metrics": COVERAGE,
        "at_equal_time": 300,  # seconds of training per run, one thread each
    },
    "glo": {
        "title": "GLO (no D: per-image codes, a Gaussian fitted to them) against the default GAN at equal wall time",
        "base": [],
        "arms": {"gan": [], "glo": ["experiment=glo"]},
        "metrics": {**COVERAGE, "recon_fid": "lower", "recon_pixel_mse": "lower"},
        "at_equal_time": 220,  # the default run's training time on one thread of this machine
        "pictures": ["final.png", "final_reconstructions.png", "final_interpolations.png"],
    },
    "ebgan_margin": {  # tuning: run with --first-seed 0; the best mean FID's margin goes into experiment=ebgan
        "title": "EBGAN's margin m, chosen on the tuning seeds (the default run's nets, λ_PT 0.1)",
        "base": ["variant=ebgan", "loss=energy"],
        "arms": {f"m{m}": [f"loss.margin={m}"] for m in (0.03, 0.1, 0.3, 1.0, 3.0)},
        "metrics": COVERAGE,
    },
    "ebgan_pt": {
        "title": "EBGAN with and without the pull-away term: does PT spread the samples?",
        "base": ["experiment=ebgan"],
        "arms": {"pt": [], "no_pt": ["variant.pt_weight=0"]},
        "metrics": COVERAGE,
    },
    "vaegan": {
        "title": "VAE-GAN against the same encoder and decoder trained as a plain VAE",
        "base": ["experiment=vaegan"],
        "arms": {"vaegan": [], "vae": ["variant.gan_weight=0", "variant.recon_space=pixel"]},
        "metrics": {"fid": "lower", "recon_fid": "lower", "recon_pixel_mse": "lower", "recon_feature_mse": "lower",
                    "classes_covered": "higher"},
        "pictures": ["final.png", "final_reconstructions.png"],
    },
    "vaegan_gamma": {  # tuning: run with --first-seed 0; the best mean FID's γ would go into experiment=vaegan
        "title": "VAE-GAN's γ (L_llike against G's GAN term), chosen on the tuning seeds",
        "base": ["experiment=vaegan"],
        "arms": {f"g{g}": [f"variant.gamma={g}"] for g in (0.001, 0.01, 0.1, 1.0)},
        "metrics": {"fid": "lower", "recon_fid": "lower", "recon_pixel_mse": "lower", "classes_covered": "higher"},
        "pictures": ["final.png", "final_reconstructions.png"],
    },
    "deepsim": {
        "title": "DeePSiM's ablation: which of its three terms make reconstructions sharp",
        "base": ["experiment=deepsim"],
        "arms": {"full": [], "no_adversarial": ["variant.adversarial_weight=0"],
                 "no_feature": ["variant.feature_weight=0"],
                 "image_only": ["variant.adversarial_weight=0", "variant.feature_weight=0"]},
        "metrics": {"recon_fid": "lower", "recon_pixel_mse": "lower", "recon_feature_mse": "lower"},
        "pictures": ["final_reconstructions.png"],
    },
}
PROBES = (20, 80)  # iterations of the two timing probes: their difference gives seconds per iteration


def gan_runner(overrides: list[str], sweep_dir: Path, log: Path) -> int:
    command = [str(Path(sys.executable).parent / "gan-runner"), "-m", *overrides, f"hydra.sweep.dir={sweep_dir}",
               "hydra.sweep.subdir=seed${seed}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as stream:
        return subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, cwd=ROOT,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}).returncode


def arm_overrides(study: dict, arm: str, args) -> list[str]:
    launcher = ["hydra/launcher=cpus", f"hydra.launcher.n_jobs={args.jobs}"]
    return [*launcher, *study["base"], *study["arms"][arm], "metrics.every_n_steps=0",
            "trainer.enable_progress_bar=false", *args.override]


def train_times(folder: Path) -> list[float]:
    found = [json.loads(p.read_text()) for p in sorted(folder.glob("seed*/metrics.json"))]
    return [record["train_time_s"] for record in found if record.get("status") == "completed"]


def calibrate(study: dict, arm: str, args) -> dict:
    """Seconds per iteration and fixed seconds of `arm`, from two probes of PROBES iterations (seeds 900, 901)."""
    times = []
    for steps in PROBES:
        folder = Path(args.out) / args.study / "probes" / f"{arm}_{steps}"
        gan_runner([*arm_overrides(study, arm, args), "seed=900,901", f"trainer.max_steps={steps}",
                    "metrics.num_samples=100", "metrics.kid_subset_size=50", "metrics.pictures=false"],
                   folder, folder.with_suffix(".log"))
        found = train_times(folder)
        if not found:
            raise SystemExit(f"{arm}: the timing probe failed, see {folder.with_suffix('.log')}")
        times.append(statistics.median(found))
    per_step = max((times[1] - times[0]) / (PROBES[1] - PROBES[0]), 1e-6)
    return {"seconds_per_iteration": per_step, "fixed_seconds": max(times[0] - PROBES[0] * per_step, 0.0)}


def iterations(study: dict, arm: str, args) -> list[str]:
    """`trainer.max_steps` that fills the study's time budget (calibrating once), or nothing."""
    budget = study.get("at_equal_time")
    if not budget:
        return []
    path = Path(args.out) / args.study / "calibration.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    if arm not in known:
        timing = calibrate(study, arm, args)
        # another process of the study (other --arms) may have written its arms' timings meanwhile: keep them
        known = json.loads(path.read_text()) if path.exists() else {}
        known[arm] = timing
        path.write_text(json.dumps(known, indent=1))
    timing = known[arm]
    return [f"trainer.max_steps={max(int((budget - timing['fixed_seconds']) / timing['seconds_per_iteration']), 1)}"]


def seeds(args) -> list[int]:
    return list(range(args.first_seed, args.first_seed + args.seeds))


def train(study: dict, arm: str, args) -> float:
    start, folder = time.time(), Path(args.out) / args.study / arm
    overrides = [*arm_overrides(study, arm, args), *iterations(study, arm, args),
                 f"seed={','.join(map(str, seeds(args)))}"]
    if gan_runner(overrides, folder, folder.with_suffix(".log")):
        print(f"{arm}: gan-runner failed, see {folder.with_suffix('.log')}", flush=True)
    return time.time() - start


def records(out: Path, arm: str, args) -> list[dict]:
    """metrics.json of the arm's completed seeds, in seed order."""
    found = []
    for seed in seeds(args):
        path = out / arm / f"seed{seed}" / "metrics.json"
        record = json.loads(path.read_text()) if path.exists() else {}
        if record.get("status") == "completed":
            found.append(record)
    return found


def cell(values: list[float]) -> str:
    mean, se = mean_se(values)
    return "—" if not values else f"{mean:.3g} ± {se:.2g}" if len(values) > 1 else f"{mean:.3g}"


def rows(study: dict, arms: list[str], out: Path, args) -> list[str]:
    runs = {arm: records(out, arm, args) for arm in arms}
    reference, others = arms[0], arms[1:]
    lines = [f"| metric (better) | {' | '.join(arms)} | "
             + " | ".join(f"{arm} − {reference} (permutation p)" for arm in others) + " |",
             "|---|" + "---|" * (len(arms) + len(others))]
    for metric, better in study["metrics"].items():
        values = {arm: [float(r["metrics"]["final"][metric]) for r in runs[arm]
                        if math.isfinite(float(r["metrics"]["final"].get(metric, math.nan)))] for arm in arms}
        differences = []
        for arm in others:
            a, b = values[reference], values[arm]
            if min(len(a), len(b)) < 2:
                differences.append("—")
                continue
            p = permutation_p(b, a) if statistics.pstdev(a + b) > 0 else 1.0
            differences.append(f"{statistics.fmean(b) - statistics.fmean(a):+.3g} ({p:.3f})")
        lines.append(f"| {metric} ({better}) | {' | '.join(cell(values[arm]) for arm in arms)} | "
                     + " | ".join(differences) + " |")
    for name, read in (("seeds completed", lambda rs: f"{len(rs)}/{args.seeds}"),
                       ("iterations", lambda rs: "/".join(sorted({str(r["step"]) for r in rs})) or "—"),
                       ("train time per run, s", lambda rs: cell([r["train_time_s"] for r in rs]))):
        lines.append(f"| {name} | {' | '.join(read(runs[arm]) for arm in arms)} |" + " |" * len(others))
    return lines


def pictures(study: dict, arms: list[str], out: Path, args) -> list[str]:
    """The first seed's pictures of each arm (samples; reconstructions and interpolations where the arm draws them),
    copied to docs/<study>_<arm>[_<kind>].png."""
    written = []
    for arm in arms:
        for name in study.get("pictures", ["final.png"]):
            first = out / arm / f"seed{args.first_seed}" / "samples" / name
            if first.exists():
                kind = Path(name).stem.removeprefix("final").lstrip("_")
                target = Path(args.docs) / f"{args.study}_{arm}{'_' + kind if kind else ''}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(first, target)
                written.append(f"![{arm} {kind or 'samples'}]({target.name})")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=list(STUDIES))
    parser.add_argument("--seeds", type=int, default=6, help="how many seeds, from --first-seed on")
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED,
                        help=f"{FIRST_SEED} for a proof (no preset was tuned on it); 0 to choose a setting")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="runs at once, one thread each")
    parser.add_argument("--arms", nargs="+", help="a subset of the study's arms, the first being the reference")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "arms_study"))
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--override", action="append", default=[], help="a gan-runner override for every run")
    parser.add_argument("--table-only", action="store_true", help="rebuild the report from the runs under --out")
    args = parser.parse_args()
    study = STUDIES[args.study]
    arms = args.arms or list(study["arms"])
    unknown = sorted(set(arms) - set(study["arms"]))
    if unknown:
        parser.error(f"{args.study} has no arm {unknown[0]}: choose among {', '.join(study['arms'])}")
    start, out = time.time(), Path(args.out) / args.study
    if not args.table_only:
        for arm in arms:
            print(f"{arm}: {train(study, arm, args):.0f} s", flush=True)
    flags = (f"{args.study} --seeds {args.seeds} --jobs {args.jobs}"
             + (f" --first-seed {args.first_seed}" if args.first_seed != FIRST_SEED else "")
             + (f" --arms {' '.join(arms)}" if args.arms else "") + "".join(f" --override {o}" for o in args.override))
    budget = study.get("at_equal_time")
    report = [f"# {study['title']}", "", f"`.venv/bin/python scripts/arms_study.py {flags}`"
              + ("" if args.table_only else f" ({(time.time() - start) / 60:.0f} min)") + f": seeds {args.first_seed}-"
              f"{args.first_seed + args.seeds - 1}, {args.jobs} runs at a time, one thread each. Base overrides: "
              f"`{' '.join(study['base']) or '(the default run)'}`; arms: "
              + "; ".join(f"**{arm}** `{' '.join(study['arms'][arm]) or '(none)'}`" for arm in arms) + ".", "",
              (f"Equal wall time: each arm's iterations were set from two timing probes so that its training takes "
               f"{budget} s (calibration.json beside the runs); the realized times are in the last row." if budget
               else "Every arm trains the same iterations."),
              "Mean ± standard error over seeds; the differences to the first arm with an exact two-sided permutation "
              "test over the seeds (p: how often a split of the pooled seeds differs as much).", "",
              *rows(study, arms, out, args), "", *pictures(study, arms, out, args), ""]
    write_page(Path(args.docs) / f"{args.study}.md", report)
    print("\n".join(report))


if __name__ == "__main__":
    main()
