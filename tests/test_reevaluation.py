"""A finished run evaluated again reads what training recorded, and only a change of the evaluation's own settings
evaluates it again."""
import yaml

from gan_runner import results
from gan_runner.run import run

DIRAC = ["experiment=dirac", "loss=minimax", "trainer.max_steps=50", "trainer.enable_progress_bar=false"]
TOY = ["data=ring", "model=mlp", "model.width=16", "trainer.enable_progress_bar=false", "metrics.every_n_steps=0",
       "metrics.num_samples=200", "trainer.max_steps=3"]


def test_a_dirac_run_evaluated_again_keeps_its_trajectory(cfg_factory, tmp_path):
    out = tmp_path / "run"
    run(cfg_factory(DIRAC, out))
    trajectory = (out / "samples" / "final.csv").read_text()
    assert len(trajectory.splitlines()) == 52  # the header, the start and 50 iterations
    picture = (out / "samples" / "final.png").stat().st_size
    run(cfg_factory([*DIRAC, "metrics.tolerance=0.05"], out))
    result = results.read(out / "metrics.json")
    assert result["metrics"]["protocol"]["converged"] == "distance < metrics.tolerance = 0.05"
    assert (out / "samples" / "final.csv").read_text() == trajectory
    assert abs((out / "samples" / "final.png").stat().st_size - picture) < 0.05 * picture  # the path is drawn again
    assert yaml.safe_load((out / "config.yaml").read_text())["metrics"]["tolerance"] == 0.05


def test_another_cache_folder_does_not_evaluate_a_finished_run_again(cfg_factory, tmp_path, monkeypatch):
    out = tmp_path / "run"
    run(cfg_factory(TOY, out))
    recorded = (out / "metrics.json").read_bytes()
    monkeypatch.setenv("GAN_RUNNER_CACHE", str(tmp_path / "elsewhere"))
    run(cfg_factory(TOY, out))
    assert (out / "metrics.json").read_bytes() == recorded
