"""Digits kept apart from training for the variants whose D is also a classifier (catgan, semisupervised): one fixed
draw of validation digits (what settings are chosen by) and of test digits (the number to report), and a balanced
labelled subset of the rest."""
import torch
from torch import Tensor

from gan_runner.errors import UserError

SPLIT_SEED = 7  # the held-out digits: one fixed draw for every run of a data set


def split(n: int, validation: int, test: int) -> tuple[Tensor, Tensor, Tensor]:
    """Indices of the training part, the validation digits and the test digits (one fixed permutation: the
    validation digits are its first `validation`, the test digits the next `test`)."""
    held = validation + test
    if held >= n:
        raise UserError(f"variant.validation={validation} and variant.test={test} leave no training data of the {n} "
                        "samples: lower them")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return perm[held:], perm[:validation], perm[validation:held]


def first_per_class(indices: Tensor, y: Tensor, per_class: int, classes: int, asked: str) -> Tensor:
    """The first `per_class` of each class among `indices`, in their order; `asked` names the setting that asks."""
    members = [indices[y[indices] == c] for c in range(classes)]
    short = min(range(classes), key=lambda c: len(members[c]))
    if len(members[short]) < per_class:
        raise UserError(f"{asked} asks {per_class} labelled samples of each class, and class {short} has "
                        f"{len(members[short])} in the training part: lower it")
    return torch.cat([m[:per_class] for m in members])


def predictions(predict, data, indices: Tensor, device) -> Tensor:
    """predict(x) of the samples at `indices`, 500 at a time, on the CPU."""
    return torch.cat([predict(data.samples(chunk).to(device)) for chunk in indices.split(500)])
