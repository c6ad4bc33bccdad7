"""CatGAN (Springenberg 2016; seed 001): D is a K-way classifier p(y|x) instead of a real/fake scorer. D is certain
about real samples, spreads them over all classes, and is uncertain about generated ones; G makes samples D is
certain about, spread over all classes. With H the entropy and batch means for E (eqs. 7 and 8):

    L_D = -w H[E_x p(y|x)] + E_x H[p(y|x)] - E_z H[p(y|G(z))]
    L_G = -w H[E_z p(y|G(z))] + E_z H[p(y|G(z))]

with w = `marginal_weight`, 1 in the paper (RIM-style clustering tunes this trade-off), plus, semi-supervised
(section 4.2), lambda * cross-entropy on a few labelled real samples (`labelled`, balanced over the classes). The
configured `loss=` plays no part. D's scalar score, which penalties, clipping and the logs see, is its certainty
-H[p(y|x)]. Two fixed draws of digits never reach training: D's clusters are scored on the `validation` digits
(`cluster_accuracy`, what settings are chosen by) and, apart, on the `test` digits (`test_cluster_accuracy`, the
number to report, never used for choosing).
"""
import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_runner import distributed, draws
from gan_runner.checks import non_negative, positive
from gan_runner.errors import UserError
from gan_runner.metrics.classes import accuracy, majority, matching
from gan_runner.modules import heldout
from gan_runner.modules.gan import GAN
from gan_runner.modules.sides import Side

PICTURE_SAMPLES = 400


def entropy(logits: Tensor) -> Tensor:
    """H[p] of each row of softmax(logits), from log-probabilities (exact at p = 0)."""
    log_p = F.log_softmax(logits.float(), dim=1)
    return -(log_p.exp() * log_p).sum(1)


def marginal_entropy(logits: Tensor) -> Tensor:
    """H[E p(y|x)] over the global batch: under DDP the mean p is gathered over the ranks before the entropy."""
    p = distributed.mean_over_ranks(F.softmax(logits.float(), dim=1).mean(0))
    return -(p * p.clamp_min(1e-12).log()).sum()


class Certainty(nn.Module):
    """D's K class logits from its trunk (the net's head made K wide); forward gives the certainty -H[p(y|x)]."""

    def __init__(self, net: nn.Module, classes: int):
        super().__init__()
        net.head = nn.Linear(net.feature_dim, classes)
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return -entropy(self.net.head(self.net.trunk(x)))


class CatGAN(GAN):
    uses_features = True
    score_rescaling_refusal = ("normalizes a real/fake score, and CatGAN's D is a classifier: use a penalty (gp, r1), "
                               "sn, noise or clip")

    def __init__(self, *args, classes: int = 10, labelled: int = 0, supervised_weight: float = 1.0,
                 validation: int = 500, test: int = 500, marginal_weight: float = 1.0, **kwargs):
        self.classes, self.labelled, self.validation, self.test = classes, labelled, validation, test
        self.supervised_weight, self.marginal_weight = supervised_weight, marginal_weight
        super().__init__(*args, **kwargs)
        if labelled and self.num_classes != classes:
            raise UserError(f"variant.labelled={labelled} needs labelled data with variant.classes={classes} classes; "
                            f"these images have {self.num_classes or 'no'} labels")
        self._labelled: tuple[Tensor, Tensor] | None = None

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        positive(args, "classes")
        non_negative(args, "labelled", "validation", "test", "supervised_weight", "marginal_weight")
        labelled, classes = args.get("labelled", 0), args.get("classes", 10)
        if labelled % classes:
            fits = " or ".join(str(n * classes) for n in (labelled // classes, labelled // classes + 1) if n)
            raise UserError(f"variant.labelled={labelled} must be a multiple of variant.classes={classes} (the "
                            f"labelled samples are balanced over the classes, at least one each): use {fits}")
        super().check(args, cfg)
        if not str(cfg.loss._target_).endswith(".NonSaturating"):
            raise UserError("variant=catgan trains on its own entropy terms (Springenberg 2016) and would ignore "
                            "the chosen loss=: leave loss at its default")

    def build_networks(self, make_generator, make_discriminator):
        return make_generator(), Certainty(make_discriminator(), self.classes)

    def class_logits(self, side: Side) -> Tensor:
        return self.d_part("head")(side.features).float()

    # ----- the players' objectives -----
    def d_adversarial(self, batch):
        real, fake = self.class_logits(batch.real), self.class_logits(batch.fake)
        return {"d_marginal": -self.marginal_weight * marginal_entropy(real), "d_real_entropy": entropy(real).mean(),
                "d_fake_entropy": -entropy(fake).mean()}

    def g_adversarial(self, batch, v_real):
        fake = self.class_logits(batch.fake)
        return {"g_marginal": -self.marginal_weight * marginal_entropy(fake), "g_fake_entropy": entropy(fake).mean()}

    def d_extra(self, batch):
        if not self.labelled:
            return {}
        if self._labelled is None:
            raise RuntimeError("CatGAN draws its labelled samples from training_data(data): call it before training")
        x, y = self._labelled
        pick = draws.integers(len(y), len(batch.real.x), device=self.device)
        side = Side(x.to(self.device)[pick], None)
        self._score(side)
        supervised = F.cross_entropy(self.class_logits(side), y.to(self.device)[pick])
        return {"d_supervised": self.supervised_weight * supervised}

    # ----- data -----
    def split(self, data) -> tuple[Tensor, Tensor, Tensor]:
        return heldout.split(len(data), self.validation, self.test)

    def training_data(self, data):
        train = self.split(data)[0]
        if self.labelled:  # the first labelled/K of each class in the training part
            picks = heldout.first_per_class(train, data.y, self.labelled // self.classes, self.classes,
                                            f"variant.labelled={self.labelled}")
            self._labelled = (data.samples(picks), data.y[picks])
        return dataclasses.replace(data, x=data.x[train], y=None if data.y is None else data.y[train])

    # ----- evaluation -----
    def variant_metrics(self, evaluation):
        """D's class of each validation and each test digit against its label (`cluster_scores`; the test digits'
        with the prefix `test_`), and a picture of generated samples, one row per cluster: in the order of the
        classes most of each cluster's validation members are (unsupervised), in class order when the labelled
        samples tie class k to label k."""
        data = evaluation.data
        if data.y is None or not self.validation + self.test:
            return {}
        _, validation, test = self.split(data)
        scores, readings = {}, []
        for prefix, digits in (("", validation), ("test_", test)):
            if len(digits):
                clusters = heldout.predictions(self.cluster, data, digits, self.device)
                labels = data.y[digits]
                found = self.cluster_scores(clusters, labels, data.num_classes)
                scores.update({prefix + name: value for name, value in found.items()})
                readings.append(majority(clusters, labels, self.classes, data.num_classes)[0])
        reading = readings[0]  # the validation digits' when there are any
        torch.manual_seed(0)
        fake = self.generate(self.draw_z(PICTURE_SAMPLES), None, self.sampler())
        fake, assigned = fake.float().cpu(), self.cluster(fake)
        blank = torch.full((8, *fake.shape[1:]), -1.0)
        order = range(self.classes) if self.labelled else sorted(reading, key=reading.get)
        evaluation.grid("clusters", torch.cat([torch.cat([fake[assigned == c], blank])[:8] for c in order]), 8)
        return scores

    def cluster_scores(self, clusters: Tensor, labels: Tensor, num_classes: int) -> dict[str, float]:
        """`cluster_accuracy`: unsupervised, with D's classes matched one to one to the labels (Hungarian: their
        numbering is arbitrary); semi-supervised (`labelled` > 0), plain accuracy, since the cross-entropy ties
        class k to label k (matching would score two swapped classes 1.0). `cluster_purity`: each cluster read as
        its majority class (many to one, as unsupervised MNIST comparison tables list CatGAN with K = 20)."""
        if self.labelled:
            score = accuracy(clusters, labels)
        else:
            score = matching(clusters, labels, self.classes, num_classes)[1]
        return {"cluster_accuracy": score, "cluster_purity": majority(clusters, labels, self.classes, num_classes)[1]}

    def cluster(self, x: Tensor) -> Tensor:
        """D's most likely class of each sample (its trunk and K-way head, without constraint wrappers)."""
        return self.d_part("head")(self.d_part("trunk")(x)).argmax(1).cpu()
