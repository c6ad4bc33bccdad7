"""A run's config.yaml cut short (a crash mid-write, a careless edit) does not turn a finished result into a failure:
metrics.json and the checkpoint carry the run's identity, config.yaml speaks only when metrics.json is gone."""
import pytest

from gan_runner import results
from gan_runner.errors import FolderRefused
from gan_runner.run import run

SETTINGS = ["data=ring", "model=mlp", "model.width=16", "trainer.enable_progress_bar=false", "metrics.every_n_steps=0",
            "metrics.num_samples=200", "trainer.max_steps=3"]


def test_a_damaged_config_yaml_leaves_a_finished_result_as_it_is(cfg_factory, tmp_path):
    out = tmp_path / "run"
    first = run(cfg_factory(SETTINGS, out))
    recorded = (out / "metrics.json").read_bytes()
    config = out / "config.yaml"
    config.write_bytes(config.read_bytes()[:300])  # cut inside a mapping: not YAML any more
    assert run(cfg_factory(SETTINGS, out)) == first
    assert (out / "metrics.json").read_bytes() == recorded
    # without metrics.json, the checkpoint still knows the run: another configuration is refused in one line
    (out / "metrics.json").unlink()
    with pytest.raises(FolderRefused, match="holds a run of another configuration") as refused:
        run(cfg_factory([*SETTINGS, "loss=hinge"], out))
    assert "\n" not in str(refused.value)
    assert results.read(out / "metrics.json") is None and not list(out.glob("*.tmp"))
