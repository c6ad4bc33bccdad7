"""The Dirac-GAN's data (Mescheder, Geiger & Nowozin 2018, §2.2): a point mass at 0 on the real line."""
from dataclasses import dataclass

import torch

from gan_runner.checks import checked_by, positive
from gan_runner.data.checks import check_size
from gan_runner.data.dataset import GanData
from gan_runner.errors import UserError


@dataclass
class PointMass(GanData):
    """Real data that is one point: evaluated as a game (evaluation.DiracEvaluation), not as a sample."""

    @property
    def kind(self) -> str:
        return "dirac"


def _check(args: dict, cfg) -> None:
    positive(args, "n")
    check_size(args["n"], cfg, "copies of the point")
    if cfg.model.kind != "dirac":
        raise UserError(f"data=dirac is the Dirac-GAN's point mass at 0, which only its one-parameter G and D play: "
                        f"use model=dirac (not model={cfg.model.name}), or experiment=dirac")


@checked_by(_check)
def dirac(n: int = 4096) -> PointMass:
    """n copies of the point 0 (a batch of them: per-sample draws such as instance noise average over the batch)."""
    return PointMass("dirac", torch.zeros(n, 1))
