"""scripts/thread_gradients.py: a run's gradients at two thread counts differ by rounding only."""
import runpy
import sys
from pathlib import Path

import torch

from gan_runner.run import run

SCRIPT = Path(__file__).parents[1] / "scripts" / "thread_gradients.py"


def test_a_runs_gradients_at_one_and_two_threads_differ_by_rounding(cfg_factory, seeded_cache, tmp_path, monkeypatch,
                                                                    capsys):
    out = tmp_path / "run"
    run(cfg_factory(["experiment=infogan", "data=digits", "trainer.max_steps=3", "metrics.every_n_steps=0",
                     "metrics.num_samples=64", "metrics.pictures=false", "trainer.enable_progress_bar=false"], out))
    # in this process, as `python scripts/thread_gradients.py <run> --batch 32` (it sets the thread counts it compares)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), str(out), "--batch", "32"])
    monkeypatch.setattr(sys, "path", [*sys.path])  # the script puts the checkout first on it
    threads = torch.get_num_threads()
    capsys.readouterr()
    try:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    table = capsys.readouterr().out
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    differences = {name.strip("| "): float(cells.split()[0]) for name, _, cells in rows}
    assert "generator.body.0.weight" in differences and "discriminator.trunk.0.weight" in differences
    # D's FC bias sits under BatchNorm (the preset's d_norm=batch): its true gradient is zero, and the table says so
    noise = {name.strip("| ") for name, _, cells in rows if "zero gradient" in cells}
    assert noise and all(name.startswith("discriminator.trunk.") and name.endswith(".bias") for name in noise)
    assert max(d for name, d in differences.items() if name not in noise) < 1e-4
