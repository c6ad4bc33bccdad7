"""The evaluation of labelled images: class metrics for every model, a variant's own metrics and pictures."""
import shutil

import pytest
import torch
from PIL import Image

from gan_runner.evaluation import build_evaluation
from gan_runner.modules.infogan import TRAVERSAL

SMALL = ["model.width=8", "metrics.num_samples=500", "trainer.max_steps=1"]


@pytest.fixture(scope="module")
def cache(lenet, tmp_path_factory):
    """The session's LeNet of mnist5k under the name a run looks for (the same images, so no retraining)."""
    where = tmp_path_factory.mktemp("run-cache")
    shutil.copytree(lenet.cache, where, dirs_exist_ok=True)  # whatever the cache file is named
    return where


@pytest.fixture
def evaluate(cfg_factory, train_steps, cache, tmp_path):
    """evaluate(overrides) -> (module after one step, its evaluation's metrics, the samples picture's path)."""
    def run(overrides):
        cfg = cfg_factory([*SMALL, f"metrics.cache_dir={cache}", *overrides])
        module, _ = train_steps(cfg, steps=1)
        import hydra.utils

        evaluation = build_evaluation(cfg.metrics, hydra.utils.instantiate(cfg.data.source), torch.device("cpu"))
        picture = tmp_path / "samples" / "step_000001.png"
        return module, evaluation, evaluation(module, picture), picture

    return run


def test_every_model_gets_the_class_histogram_and_a_conditional_one_its_accuracy(evaluate):
    _, evaluation, plain, _ = evaluate([])
    assert {"class_kl", "classes_covered"} <= set(plain) and "class_accuracy" not in plain
    _, _, conditional, picture = evaluate(["variant=cgan"])
    assert {"class_kl", "classes_covered", "class_accuracy", "intra_fid"} <= set(conditional)
    assert 0 <= conditional["class_accuracy"] <= 1 and conditional["intra_fid"] > 0
    assert Image.open(picture).size == (8 * 29 + 1, 10 * 29 + 1)  # one row of 8 samples per class


def test_infogan_code_accuracy_matches_codes_to_classes(evaluate, mnist5k, monkeypatch):
    module, evaluation, result, picture = evaluate(["variant=infogan"])
    assert 0 <= result["code_accuracy"] <= 1
    for code in ("c1", "c2"):
        traversal = picture.with_name(f"{picture.stem}_traversal_{code}.png")
        assert Image.open(traversal).size == (len(TRAVERSAL) * 29 + 1, 10 * 29 + 1)  # rows: codes; columns: sweep
    # A generator whose code c draws real digits of class permutation[c]: the codes are permuted classes, and the
    # matched accuracy is the classifier's own (about 0.99), where `code == class` would score about 0.1.
    images, labels = mnist5k.x, mnist5k.y
    permutation = torch.tensor([3, 7, 0, 9, 1, 4, 8, 2, 6, 5])
    by_class = [images[labels == c] for c in range(10)]

    def digits_of_code(z, y=None, generator=None):
        code, _ = module.codes(z)
        return torch.stack([by_class[int(permutation[c])][i % 400] for i, c in enumerate(code.tolist())])

    monkeypatch.setattr(module, "generate", digits_of_code)
    assert evaluation(module)["code_accuracy"] >= 0.97


def test_infogan_q_accuracy_reads_real_digits_through_q(evaluate, monkeypatch):
    """The paper's protocol: Q's code of each real digit against its label, matched one to one."""
    module, evaluation, result, _ = evaluate(["variant=infogan"])
    assert 0 <= result["q_accuracy"] <= 1
    data = evaluation.data
    permutation = torch.tensor([3, 7, 0, 9, 1, 4, 8, 2, 6, 5])
    truth = {tuple(data.samples(i).flatten().tolist()): int(data.y[i]) for i in range(len(data))}

    def q_of_a_perfect_but_permuted_classifier(x):
        return torch.tensor([int(permutation[truth[tuple(row.flatten().tolist())]]) for row in x])

    monkeypatch.setattr(module, "code_of", q_of_a_perfect_but_permuted_classifier)
    assert evaluation(module)["q_accuracy"] == 1.0
    # the real Q after one step is no such classifier
    assert result["q_accuracy"] < 0.5
    # code_of reads the categorical logits only, even where a continuous output is larger
    monkeypatch.undo()
    last = module.d_part("heads")["q"][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0] * 7 + [5.0, 0.0, 0.0] + [100.0, 100.0]))
    assert (module.code_of(data.samples(torch.arange(20))) == 7).all()


def test_catgan_cluster_accuracy_on_held_out_digits(evaluate, monkeypatch):
    module, evaluation, result, picture = evaluate(["variant=catgan"])
    assert 0 <= result["cluster_accuracy"] <= 1
    assert picture.with_name(f"{picture.stem}_clusters.png").exists()
    data = evaluation.data
    _, held, _ = module.split(data)
    permutation = torch.tensor([3, 7, 0, 9, 1, 4, 8, 2, 6, 5])
    truth = {tuple(data.samples(i).flatten().tolist()): int(data.y[i]) for i in held.tolist()}

    def perfect_but_permuted(x):
        return torch.tensor([int(permutation[truth.get(tuple(row.flatten().tolist()), 0)]) for row in x])

    monkeypatch.setattr(module, "cluster", perfect_but_permuted)
    scores = evaluation(module)
    assert scores["cluster_accuracy"] == 1.0
    # the test digits are others, never trained on nor used for choosing: this D knows only the validation digits
    _, _, test = module.split(data)
    assert not set(held.tolist()) & set(test.tolist()) and not set(test.tolist()) & set(module.split(data)[0].tolist())
    assert scores["test_cluster_accuracy"] < 0.5 and 0 <= scores["test_cluster_purity"] <= 1


def test_catgan_over_clustering_is_scored_by_majority_class(evaluate, monkeypatch):
    """20 clusters, each digit split over two: one to one that is half right, read by majority class all right
    (the paper's unsupervised protocol); the picture has a row per cluster."""
    module, evaluation, result, picture = evaluate(["variant=catgan", "variant.classes=20"])
    assert 0 <= result["cluster_accuracy"] <= result["cluster_purity"] <= 1
    data = evaluation.data
    _, held, _ = module.split(data)
    truth = {tuple(data.samples(i).flatten().tolist()): (int(data.y[i]), k % 2) for k, i in enumerate(held.tolist())}

    def split_digits(x):
        label_half = [truth.get(tuple(row.flatten().tolist()), (0, 0)) for row in x]
        return torch.tensor([label + 10 * half for label, half in label_half])

    monkeypatch.setattr(module, "cluster", split_digits)
    result = evaluation(module, picture)
    halves = torch.tensor([[sum(1 for label, h in truth.values() if (label, h) == (c, half)) for half in (0, 1)]
                           for c in range(10)])
    one_to_one = halves.max(1).values.sum().item() / len(held)  # each class keeps its bigger half
    assert result["cluster_purity"] == 1.0 and result["cluster_accuracy"] == pytest.approx(one_to_one)
    assert one_to_one < 0.6
    rows = (Image.open(picture.with_name(f"{picture.stem}_clusters.png")).size[1] - 1) // 29
    assert rows == 20  # one per cluster that holds held-out digits
