"""An extended run keeps its earlier final evaluation as one of its evaluations: history and best see it, as an
uninterrupted run's periodic evaluation at that iteration."""
from gan_runner import results
from gan_runner.run import run

SETTINGS = ["data=ring", "model=mlp", "model.width=16", "trainer.enable_progress_bar=false", "metrics.every_n_steps=3",
            "metrics.num_samples=200", "checkpoint_every_n_steps=3"]


def test_an_extended_run_keeps_its_earlier_final_evaluation_in_its_history(cfg_factory, tmp_path):
    extended, straight = tmp_path / "extended", tmp_path / "straight"
    run(cfg_factory([*SETTINGS, "trainer.max_steps=6"], extended))
    first_final = results.read(extended / "metrics.json")["metrics"]["final"]
    run(cfg_factory([*SETTINGS, "trainer.max_steps=9"], extended))
    run(cfg_factory([*SETTINGS, "trainer.max_steps=9"], straight))
    a, b = results.read(extended / "metrics.json"), results.read(straight / "metrics.json")
    assert [h["step"] for h in a["history"]] == [h["step"] for h in b["history"]] == [3, 6]
    assert a["history"][1] == {"step": 6, **first_final} == b["history"][1]  # the same weights, the same numbers
    assert a["metrics"]["best"] == b["metrics"]["best"]
