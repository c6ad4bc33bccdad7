"""Semi-supervised classification with a GAN (Salimans et al. 2016, §5, "Improved Techniques for Training GANs"): D
has K class logits l(x) and the fake class is implicit, its logit fixed at 0, so that D(x) = Z/(Z + 1) with
Z = Σ_k exp l_k: D's real/fake score is v = log Z, and the unsupervised part of D's loss is the configured loss on
those scores (with loss=ns exactly the paper's -E log D(x) - E log(1 - D(G(z)))). The supervised part is the
cross-entropy of the K logits on a few labelled training digits, `labelled_per_class` of each class, drawn with
`labelled_seed` (the run's seed by default). G matches D's features (variant.feature_matching, on by default).
D is scored as a classifier on two fixed draws of held-out digits (modules/heldout.py): `classifier_accuracy` on the
validation digits, what settings are chosen by, and `test_classifier_accuracy` on the test digits, the number to
report."""
import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_runner import draws
from gan_runner.checks import non_negative, positive
from gan_runner.errors import UserError
from gan_runner.metrics.classes import accuracy
from gan_runner.modules import heldout
from gan_runner.modules.gan import GAN
from gan_runner.modules.sides import Side


class ClassLogits(nn.Module):
    """D's K class logits from its trunk (the net's head made K wide); forward gives the score log Σ_k exp l_k."""

    def __init__(self, net: nn.Module, classes: int):
        super().__init__()
        net.head = nn.Linear(net.feature_dim, classes)
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return torch.logsumexp(self.net.head(self.net.trunk(x)).float(), dim=1)


class SemiSupervisedGAN(GAN):
    uses_features = True
    score_rescaling_refusal = ("rescales D's score, and the class logits under it would stay unscaled: use a penalty "
                               "(gp, r1), sn, noise or clip")
    relativistic_refusal = ("variant=semisupervised's unsupervised term compares D(x) = Z/(Z+1) with 1 and 0, not real "
                            "with fake scores: use loss=ns (the paper's) or another loss of each side's scores")

    def __init__(self, *args, classes: int = 10, labelled_per_class: int = 10, labelled_seed: int = 0,
                 validation: int = 500, test: int = 500, unlabelled_weight: float = 0.5, **kwargs):
        self.classes, self.labelled_per_class, self.labelled_seed = classes, labelled_per_class, labelled_seed
        self.validation, self.test, self.unlabelled_weight = validation, test, unlabelled_weight
        super().__init__(*args, **kwargs)
        if self.num_classes != classes:
            raise UserError(f"variant=semisupervised classifies into variant.classes={classes} classes and these "
                            f"images have {self.num_classes or 'no'} labels: use labelled data")
        self._labelled: tuple[Tensor, Tensor] | None = None

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        positive(args, "classes", "labelled_per_class")
        non_negative(args, "validation", "test", "unlabelled_weight")

    def build_networks(self, make_generator, make_discriminator):
        return make_generator(), ClassLogits(make_discriminator(), self.classes)

    def logits(self, features: Tensor) -> Tensor:
        return self.d_part("head")(features).float()

    def d_adversarial(self, batch):
        return {"d_unlabelled": self.unlabelled_weight * self.loss.d_loss(batch.real.score, batch.fake.score)}

    def d_extra(self, batch):
        if self._labelled is None:
            raise RuntimeError("variant=semisupervised draws its labelled samples from training_data(data): call it "
                               "before training")
        x, y = self._labelled
        pick = draws.integers(len(y), len(batch.real.x), device=self.device)
        side = Side(x.to(self.device)[pick], None)
        self._score(side)
        return {"d_labelled": F.cross_entropy(self.logits(side.features), y.to(self.device)[pick])}

    # ----- data -----
    def split(self, data) -> tuple[Tensor, Tensor, Tensor]:
        return heldout.split(len(data), self.validation, self.test)

    def training_data(self, data):
        """The training part, every digit of it unlabelled; `labelled_per_class` of each class also labelled."""
        train = self.split(data)[0]
        order = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(self.labelled_seed))]
        picks = heldout.first_per_class(order, data.y, self.labelled_per_class, self.classes,
                                        f"variant.labelled_per_class={self.labelled_per_class}")
        self._labelled = (data.samples(picks), data.y[picks])
        return dataclasses.replace(data, x=data.x[train], y=data.y[train])

    # ----- evaluation -----
    def variant_metrics(self, evaluation):
        """D's class of each validation and each test digit against its label."""
        data = evaluation.data
        _, validation, test = self.split(data)
        scores = {}
        for name, digits in (("classifier_accuracy", validation), ("test_classifier_accuracy", test)):
            if len(digits):
                predicted = heldout.predictions(self.classify, data, digits, self.device)
                scores[name] = accuracy(predicted, data.y[digits])
        return scores

    def classify(self, x: Tensor) -> Tensor:
        """D's most likely class of each sample (its trunk and K-way head, without constraint wrappers)."""
        return self.logits(self.d_part("trunk")(x)).argmax(1).cpu()
