"""An image folder's contents belong to a run's identity: a run is not resumed, extended or returned on images that
changed since it trained."""
import numpy as np
import pytest
import torch
from PIL import Image

from gan_runner import results
from gan_runner.errors import FolderRefused
from gan_runner.run import run

FOLDER = ["data=folder", "data.image_size=16", "data.batch_size=8", "model.width=8", "metrics.num_samples=16",
          "metrics.every_n_steps=0", "trainer.enable_progress_bar=false", "checkpoint_every_n_steps=2"]


def save_noise(path, seed):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path)


def stamps(out):
    return [(out / name).stat().st_mtime_ns for name in ("metrics.json", "checkpoints/last.ckpt", "config.yaml")]


def test_a_run_on_images_that_changed_is_refused_naming_the_change(cfg_factory, tmp_path):
    root, out = tmp_path / "images", tmp_path / "run"
    root.mkdir()
    for i in range(16):
        save_noise(root / f"{i:02d}.png", i)
    settings = [*FOLDER, f"data.root={root}"]
    run(cfg_factory([*settings, "trainer.max_steps=2"], out))
    recorded = results.read(out / "metrics.json")["data"]
    assert recorded["images"] == 16 and recorded == torch.load(out / "checkpoints" / "last.ckpt",
                                                               weights_only=True)["identity"]["data"]
    before = stamps(out)

    for i in range(16, 20):
        save_noise(root / f"{i:02d}.png", i)
    with pytest.raises(FolderRefused) as err:  # extending the run on the new images
        run(cfg_factory([*settings, "trainer.max_steps=4"], out))
    assert str(err.value) == (f"the images in data.root={root} changed since {out} trained on them (16 images then, "
                              "20 now): restore them to go on with that run, or choose another hydra.run.dir for a "
                              "run on the new images")

    for i in range(16, 20):
        (root / f"{i:02d}.png").unlink()
    save_noise(root / "00.png", 100)  # as many images as before, one of them replaced
    with pytest.raises(FolderRefused, match=r"\(the same count, 16, but files renamed, replaced or modified\)"):
        run(cfg_factory([*settings, "trainer.max_steps=2"], out))  # not even the finished result is returned
    assert stamps(out) == before
