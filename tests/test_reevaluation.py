"""A finished run evaluated again reads what training recorded."""
from gan_runner import results
from gan_runner.run import run

DIRAC = ["experiment=dirac", "loss=minimax", "trainer.max_steps=50", "trainer.enable_progress_bar=false"]


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

