"""A non-finite loss ends the run as `diverged`, also when it appears between logging intervals near the end."""
from gan_runner import results
from gan_runner.run import run

BLOW_UP = ["data=ring", "model=mlp", "model.width=16", "optimizer.lr_g=1e30",
           "trainer.max_steps=3", "trainer.log_every_n_steps=50", "metrics.every_n_steps=0",
           "metrics.num_samples=100", "trainer.enable_progress_bar=false"]


def test_the_last_iteration_is_checked(cfg_factory, tmp_path):
    run(cfg_factory(BLOW_UP, tmp_path / "run"))
    result = results.read(tmp_path / "run" / "metrics.json")
    assert result["status"] == "diverged" and result["step"] == 3, result
    assert "became" in result["error"] and result["metrics"]["final"] == {}
