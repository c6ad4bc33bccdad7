"""The sampler study's permutation test on hand-made seeds, where every split can be counted by hand."""
import runpy
from pathlib import Path

import pytest

STUDY = runpy.run_path(str(Path(__file__).parents[2] / "scripts" / "sampler_study.py"))


def test_the_permutation_p_counts_the_splits_at_least_as_far_apart():
    # 20 splits of six values into two threes; only {1,2,3} | {4,5,6} and its mirror differ by 3
    assert STUDY["permutation_p"]([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(2 / 20)
    # means 7/3 apart: a three of sum S is |2 S - 21| / 3 from the rest, at least 7/3 for S <= 7 ({1,2,3}, {1,2,4})
    # or S >= 14 ({3,5,6}, {4,5,6})
    assert STUDY["permutation_p"]([1.0, 2.0, 4.0], [3.0, 5.0, 6.0]) == pytest.approx(4 / 20)
    assert STUDY["permutation_p"]([1.0, 1.0], [1.0, 1.0]) == 1.0  # no difference: every split is as far
