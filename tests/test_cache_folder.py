"""A cache folder (GAN_RUNNER_CACHE) that cannot be written is one line and exit code 2, before any training."""
import os
import subprocess
import sys

import pytest

SETTINGS = ["data=digits", "model=mlp", "trainer.max_steps=2", "metrics.every_n_steps=0",
            "trainer.enable_progress_bar=false"]


@pytest.mark.heavy
@pytest.mark.parametrize("blocked", ["a file in its place", "a read-only folder"])
def test_an_unwritable_cache_is_one_line_before_any_training(tmp_path, blocked):
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    if blocked == "a file in its place":
        cache.write_text("not a folder")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        cache.mkdir(mode=0o555)
    out = subprocess.run([sys.executable, "-m", "gan_runner", *SETTINGS, f"hydra.run.dir={run_dir}"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "GAN_RUNNER_CACHE": str(cache), "WANDB_MODE": "offline"})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gan-runner: error: cache folder {cache} cannot be written ("), \
        out.stderr
    assert lines[0].endswith("set GAN_RUNNER_CACHE (or metrics.cache_dir) to a folder you can write, or make this one "
                             "writable")
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "checkpoints").exists()
