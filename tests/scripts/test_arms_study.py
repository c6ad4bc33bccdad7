"""The arms study's table on hand-made run folders, and its equal-time iterations from a hand-made calibration: each
number checkable by hand."""
import argparse
import json
import runpy
from pathlib import Path

STUDY = runpy.run_path(str(Path(__file__).parents[2] / "scripts" / "arms_study.py"))


def _runs(out: Path, arm: str, fids: list[float], steps: int = 100) -> None:
    for seed, fid in zip(range(100, 100 + len(fids)), fids):
        folder = out / arm / f"seed{seed}"
        folder.mkdir(parents=True)
        record = {"status": "completed", "step": steps, "train_time_s": 10.0 + seed - 100,
                  "metrics": {"final": {"fid": fid}}}
        (folder / "metrics.json").write_text(json.dumps(record))


def test_the_table_gives_mean_se_and_the_difference_to_the_first_arm_with_its_permutation_p(tmp_path):
    _runs(tmp_path, "plain", [1.0, 2.0, 3.0])
    _runs(tmp_path, "K2", [4.0, 5.0, 6.0], steps=50)
    study = {"arms": {"plain": [], "K2": []}, "metrics": {"fid": "lower"}}
    lines = STUDY["rows"](study, ["plain", "K2"], tmp_path, argparse.Namespace(seeds=3, first_seed=100))
    # means 2 and 5, each SE 1/sqrt(3) = 0.58; of the 20 splits only the two extremes differ by 3
    assert "| fid (lower) | 2 ± 0.58 | 5 ± 0.58 | +3 (0.100) |" in lines
    assert "| seeds completed | 3/3 | 3/3 | |" in lines
    assert "| iterations | 100 | 50 | |" in lines
    assert "| train time per run, s | 11 ± 0.58 | 11 ± 0.58 | |" in lines


def test_equal_time_fills_the_budget_from_the_calibration_and_an_unbudgeted_study_adds_nothing(tmp_path):
    (tmp_path / "resnet").mkdir()
    calibration = {"a": {"seconds_per_iteration": 0.5, "fixed_seconds": 10.0}}
    (tmp_path / "resnet" / "calibration.json").write_text(json.dumps(calibration))
    args = argparse.Namespace(out=str(tmp_path), study="resnet")
    assert STUDY["iterations"]({"at_equal_time": 300}, "a", args) == ["trainer.max_steps=580"]  # (300 - 10) / 0.5
    assert STUDY["iterations"]({}, "a", args) == []


def test_a_calibration_keeps_the_timings_another_process_wrote_meanwhile(tmp_path, monkeypatch):
    """Two processes of one study (--arms split between them) calibrate at once: neither drops the other's arm."""
    (tmp_path / "glo").mkdir()
    path = tmp_path / "glo" / "calibration.json"

    def calibrate(study, arm, args):  # while this arm's probes run, the other process writes its arm
        path.write_text(json.dumps({"gan": {"seconds_per_iteration": 0.1, "fixed_seconds": 0.0}}))
        return {"seconds_per_iteration": 0.5, "fixed_seconds": 10.0}

    monkeypatch.setitem(STUDY["iterations"].__globals__, "calibrate", calibrate)
    args = argparse.Namespace(out=str(tmp_path), study="glo")
    assert STUDY["iterations"]({"at_equal_time": 300}, "glo", args) == ["trainer.max_steps=580"]
    assert set(json.loads(path.read_text())) == {"gan", "glo"}
