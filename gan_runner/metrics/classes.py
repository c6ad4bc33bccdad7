"""Class metrics with the domain classifier (the cached LeNet trained on the real labels), for every run on
labelled images.

- `class_kl`: KL(q || p) of the classifier's predicted-class histogram q of the samples against the real class
  histogram p, and `classes_covered`: the classes holding at least 1% of the samples. The mode-collapse numbers on
  image data, as PacGAN and VEEGAN count MNIST modes; for every model, conditional or not.
- `class_accuracy` of conditional samples: the classifier's accuracy against the labels they were generated with
  (GAN-test, Shmelkov et al. 2018); `intra_fid`: the mean over classes of the FID between the class's samples and
  its real images, in the classifier's feature space (Miyato & Koyama 2018).
- `accuracy`: predicted classes against labels, class k read as label k (CatGAN's semi-supervised D, whose
  cross-entropy ties class k to label k); `matched_accuracy`: clusters against labels after matching them one to one
  with the Hungarian algorithm (InfoGAN's codes, unsupervised CatGAN's clusters: their numbering is arbitrary);
  `majority`: each cluster mapped to the class most of its members hold, many clusters to one class (the
  over-clustering protocol of unsupervised MNIST comparison tables, which list CatGAN with 20 clusters).
"""
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from gan_runner.metrics.extractor import LeNetFeatures

COVERED_FRACTION = 0.01
BATCH = 250


def histogram(classes: Tensor, num_classes: int) -> Tensor:
    return torch.bincount(classes.long().cpu(), minlength=num_classes).double() / len(classes)


def class_kl(predicted: Tensor, real_histogram: Tensor) -> float:
    """KL(q || p), q the histogram of `predicted`; classes the samples miss add nothing (0 log 0 = 0)."""
    q, p = histogram(predicted, len(real_histogram)), real_histogram.double()
    seen = q > 0
    return (q[seen] * (q[seen] / p[seen].clamp_min(1e-12)).log()).sum().item()


def classes_covered(predicted: Tensor, num_classes: int, fraction: float = COVERED_FRACTION) -> int:
    return int((histogram(predicted, num_classes) >= fraction).sum())


def gaussian(features: Tensor) -> tuple[Tensor, Tensor]:
    x = features.double()
    return x.mean(0), torch.cov(x.T)


def frechet_distance(a: tuple[Tensor, Tensor], b: tuple[Tensor, Tensor]) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the trace of the root from the eigenvalues of S_a S_b
    (as torchmetrics computes it), in float64."""
    (mu_a, s_a), (mu_b, s_b) = a, b
    root_trace = torch.linalg.eigvals(s_a @ s_b).sqrt().real.sum()
    return ((mu_a - mu_b).square().sum() + s_a.trace() + s_b.trace() - 2 * root_trace).item()


def contingency(clusters: Tensor, labels: Tensor, num_clusters: int, num_classes: int) -> Tensor:
    """counts[k, c]: the samples in cluster k with label c."""
    counts = torch.zeros(num_clusters, num_classes, dtype=torch.float64)
    counts.index_put_((clusters.long().cpu(), labels.long().cpu()), torch.ones(len(labels), dtype=torch.float64),
                      accumulate=True)
    return counts


def matching(clusters: Tensor, labels: Tensor, num_clusters: int, num_classes: int) -> tuple[dict[int, int], float]:
    """The one-to-one map cluster -> class that agrees with the most labels, and the fraction it gets right."""
    counts = contingency(clusters, labels, num_clusters, num_classes)
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return dict(zip(rows.tolist(), cols.tolist())), counts[rows, cols].sum().item() / len(labels)


def majority(clusters: Tensor, labels: Tensor, num_clusters: int, num_classes: int) -> tuple[dict[int, int], float]:
    """Each non-empty cluster -> its most frequent label (several clusters may share a class), and the fraction of
    samples whose label is their cluster's."""
    counts = contingency(clusters, labels, num_clusters, num_classes)
    best = counts.max(1)
    mapping = {k: int(best.indices[k]) for k in range(num_clusters) if counts[k].sum() > 0}
    return mapping, best.values.sum().item() / len(labels)


def accuracy(predicted: Tensor, labels: Tensor) -> float:
    """The fraction of samples whose predicted class is their label (no matching: class k must be label k)."""
    return (predicted.cpu() == labels.cpu()).double().mean().item()


def matched_accuracy(clusters: Tensor, labels: Tensor, num_clusters: int, num_classes: int) -> float:
    return matching(clusters, labels, num_clusters, num_classes)[1]


class ClassMetrics:
    """The classifier's view of generated images against a fixed set of real ones with their labels."""

    def __init__(self, classifier: LeNetFeatures, real_images: Tensor, real_labels: Tensor, num_classes: int,
                 device="cpu"):
        self.device, self.num_classes = torch.device(device), num_classes
        self.classifier = classifier.to(self.device).eval()
        features, _ = self.classify(real_images)
        real_labels = real_labels.cpu()
        self.real_histogram = histogram(real_labels, num_classes)
        self.real_by_class = {c: gaussian(features[real_labels == c]) for c in range(num_classes)
                              if (real_labels == c).sum() > 1}

    @torch.no_grad()
    def classify(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Features and logits of `images` (in [-1, 1]), on the CPU."""
        parts = [self.classifier.features_and_logits(batch.to(self.device, torch.float32))
                 for batch in images.split(BATCH)]
        return torch.cat([f for f, _ in parts]).cpu(), torch.cat([lg for _, lg in parts]).float().cpu()

    def logits(self, images: Tensor) -> Tensor:
        return self.classify(images)[1]

    def __call__(self, fake: Tensor, labels: Tensor | None) -> dict[str, float]:
        return self.scores(*self.classify(fake), labels)

    def scores(self, features: Tensor, logits: Tensor, labels: Tensor | None) -> dict[str, float]:
        """The metrics from the classifier's features and logits of the samples (`classify`, batch by batch)."""
        predicted = logits.argmax(1)
        result = {"class_kl": class_kl(predicted, self.real_histogram),
                  "classes_covered": float(classes_covered(predicted, self.num_classes))}
        if labels is not None:
            labels = labels.cpu()
            result["class_accuracy"] = accuracy(predicted, labels)
            distances = [frechet_distance(gaussian(features[labels == c]), real)
                         for c, real in self.real_by_class.items() if (labels == c).sum() > 1]
            if distances:
                result["intra_fid"] = sum(distances) / len(distances)
        return result
