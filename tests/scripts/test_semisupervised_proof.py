"""The semi-supervised proof's table on hand-made run folders: test errors, the ratio's delta-method error and the
verdict against the one-half target, each checkable by hand."""
import argparse
import json
import runpy
from pathlib import Path

import pytest

PROOF = runpy.run_path(str(Path(__file__).parents[2] / "scripts" / "semisupervised_proof.py"))


def _runs(out: Path, weight: float, accuracies: list[float]) -> None:
    for seed, accuracy in enumerate(accuracies):
        folder = out / f"w{weight}_n10" / f"seed{seed}"
        folder.mkdir(parents=True)
        final = {"test_classifier_accuracy": accuracy, "classifier_accuracy": accuracy}
        (folder / "metrics.json").write_text(json.dumps({"status": "completed", "metrics": {"final": final}}))


def test_the_ratio_of_test_errors_and_its_standard_error_by_hand(tmp_path):
    _runs(tmp_path, 0.5, [0.95, 0.93])  # errors 5% and 7%: mean 6, standard error 1
    _runs(tmp_path, 0.0, [0.80, 0.76])  # 20% and 24%: mean 22, standard error 2
    lines = PROOF["rows"](argparse.Namespace(labelled=[10], seeds=2, out=str(tmp_path)))
    assert "| 10 | semi-supervised | 6.00 ± 1.00 | 6.00 ± 1.00 | 2/2 |" in lines
    assert "| 10 | labelled only | 22.00 ± 2.00 | 22.00 ± 2.00 | 2/2 |" in lines
    # 6/22 = 0.273, times hypot(1/6, 2/22) = 0.190: 0.052; 0.273 + 2 x 0.052 <= 1/2
    assert "| 10 | 0.27 ± 0.05 | met |" in lines


@pytest.mark.parametrize("ratio, se, verdict", [
    (0.30, 0.05, "met"), (0.45, 0.05, "met, but only within the noise"), (0.55, 0.05, "not met, but within the noise"),
    (0.70, 0.05, "not met"),
])
def test_the_verdict_says_when_the_target_is_met_only_within_the_noise(ratio, se, verdict):
    assert PROOF["verdict"](ratio, se).startswith(verdict)
    assert verdict != "not met" or "noise" not in PROOF["verdict"](ratio, se)
