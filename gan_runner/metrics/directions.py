"""Which way each metric is better: the one registry that every metric a run reports joins.

A run's `best` evaluation (results.best), gan-report's ranking, the objective's check and the direction of an Optuna
study all read it, so an accuracy is never minimized. A metric that describes a run without ranking it (a
coordinate, a spread, an estimate) is declared with None and cannot be an objective. tests/metrics/
test_directions.py runs every evaluation and fails on a metric missing here. Plain Python, no torch: gan-report and
the sweep presets' resolver read it too.
"""
import math
import re

from gan_runner.errors import UserError

LOWER, HIGHER = "lower", "higher"
TEST = "test_"  # the prefix of a metric of a test split

# metric -> which way is better (None: not a ranking), grouped by where each is computed
BETTER: dict[str, str | None] = {
    # metrics/image.py: distances and scores in the run's feature space (standard deviations do not rank)
    "fid": LOWER, "kid_mean": LOWER, "kid_std": None, "is_mean": HIGHER, "is_std": None,
    # metrics/prdc.py (Naeem 2020): fidelity and diversity
    "precision": HIGHER, "recall": HIGHER, "density": HIGHER, "coverage": HIGHER,
    # metrics/classes.py: the domain classifier's view of labelled images
    "class_kl": LOWER, "classes_covered": HIGHER, "class_accuracy": HIGHER, "intra_fid": LOWER,
    # the variants' own (variant_metrics of modules/catgan.py and modules/infogan.py)
    "cluster_accuracy": HIGHER, "cluster_purity": HIGHER, "code_accuracy": HIGHER, "q_accuracy": HIGHER,
    # ... and on a test split kept apart for the reported number: they never choose (check_objective)
    "test_cluster_accuracy": HIGHER, "test_cluster_purity": HIGHER,
    # modules/semisupervised.py: D as a classifier of held-out digits (validation, then test)
    "classifier_accuracy": HIGHER, "test_classifier_accuracy": HIGHER,
    # metrics/reconstruction.py: a variant with an encoder (vaegan, deepsim) giving training images back
    "recon_fid": LOWER, "recon_kid_mean": LOWER, "recon_pixel_mse": LOWER, "recon_feature_mse": LOWER,
    # metrics/stacked.py: Stacked MNIST's 1,000 modes
    "stacked_modes": HIGHER, "stacked_kl": LOWER,
    # metrics/toy.py: 2-D mixtures (critic_w1 is the critic's estimate of W1, not a quality)
    "modes": HIGHER, "hq_percent": HIGHER, "reverse_kl": LOWER, "w1": LOWER, "critic_w1": None,
    # the Dirac-GAN (evaluation.DiracEvaluation, metrics/dynamics.py): where the iterate ended does not rank,
    # how close to the equilibrium and how stable it is there does
    "distance": LOWER, "converged": HIGHER, "field_max_re": LOWER, "update_radius": LOWER,
    "theta": None, "psi": None, "ema_theta": None,
}
# the Dirac-GAN's eigenvalues, one pair of names per eigenvalue: coordinates in the complex plane
UNRANKED = re.compile(r"(field|update)_eig\d+_(re|im)")
# The ranking metrics of the data kinds that are not images (data.kind); every other one is an image metric.
OF_KIND = {"points": {"modes", "hq_percent", "reverse_kl", "w1"},
           "dirac": {"distance", "converged", "field_max_re", "update_radius"}}
# The ranking metrics of a data set with an evaluation of its own (evaluation.StackedEvaluation).
OF_DATA = {"stacked_mnist": {"fid", "stacked_modes", "stacked_kl"}}
# Image metrics that only some variants report: a variant's own (variant_metrics) and those of conditional samples.
CONDITIONAL = {"cgan", "projection", "acgan"}
ENCODERS = {"vaegan", "deepsim"}  # variants that reconstruct images (metrics/reconstruction.py)
ONLY_WITH = {"cluster_accuracy": {"catgan"}, "cluster_purity": {"catgan"}, "test_cluster_accuracy": {"catgan"},
             "test_cluster_purity": {"catgan"}, "code_accuracy": {"infogan"}, "q_accuracy": {"infogan"},
             "class_accuracy": CONDITIONAL, "intra_fid": CONDITIONAL, "classifier_accuracy": {"semisupervised"},
             "test_classifier_accuracy": {"semisupervised"}, "recon_fid": ENCODERS, "recon_kid_mean": ENCODERS,
             "recon_pixel_mse": ENCODERS, "recon_feature_mse": ENCODERS}


def known(name: str) -> bool:
    return name in BETTER or bool(UNRANKED.fullmatch(name))


def better(name: str) -> str | None:
    """LOWER, HIGHER, or None for a metric that does not rank runs (or that no evaluation reports)."""
    return BETTER.get(name)


def check_objective(name: str) -> None:
    """`objective=name` must be a metric that ranks runs, and not one of a test split: a one-line refusal otherwise."""
    if name.startswith(TEST) and better(name) is not None:
        raise UserError(f"objective={name} would choose settings by the test split, which is kept apart for the number "
                        f"to report: choose by {name.removeprefix(TEST)} (the validation split)")
    if better(name) is not None:
        return
    ranking = ", ".join(sorted(m for m, way in BETTER.items() if way))
    what = ("describes a run but does not rank it (neither higher nor lower is better)" if known(name)
            else "is no metric that gan-runner reports")
    raise UserError(f"objective={name} {what}: choose one of {ranking}")


def check_reported(name: str, kind: str, data: str, variant: str) -> None:
    """`objective=name` must be a metric that an evaluation of this data kind and variant reports: one line
    otherwise (a run would end with no value for it and score as failed)."""
    own = OF_DATA.get(data, OF_KIND.get(kind))
    if own is None:
        own = {m for m, way in BETTER.items() if way and variant in ONLY_WITH.get(m, {variant})}
        own -= set().union(*OF_KIND.values(), *OF_DATA.values()) - {"fid"}
    if name not in own:
        where = f"data={data} ({kind})" + (f" with variant={variant}" if kind == "image" else "")
        raise UserError(f"objective={name} is not reported on {where}: choose one of "
                        f"{', '.join(sorted(m for m in own if not m.startswith(TEST)))}")


def said(name: str) -> str:
    """The direction in words, for reports and plots."""
    way = better(name)
    return f"{way} is better" if way else "does not rank: sweep order"


def rank_key(name: str, value: float) -> float:
    """A key whose smallest value is the best: the value itself, or its negation when higher is better."""
    way = better(name)
    if way is None:
        raise ValueError(f"{name} does not rank runs")
    return -value if way == HIGHER else value


def worst(name: str) -> float:
    """The value a failed or diverged run scores: -inf when higher is better, +inf otherwise."""
    return -math.inf if better(name) == HIGHER else math.inf


def optuna_direction(name: str) -> str:
    """The direction of an Optuna study of this objective (the sweep presets' `gan_runner.direction` resolver)."""
    check_objective(name)
    return "maximize" if better(name) == HIGHER else "minimize"
