"""Image folders through the real loader: PNG files written here, listed, decoded once into the cache, mapped."""
import multiprocessing
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_runner.data import decoded
from gan_runner.data.sources import image_folder
from gan_runner.errors import UserError


def save_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def solid(height, width, rgb):
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (height, width, 3)).copy()


def three_stripes(height):
    """Red | green | blue vertical stripes, each `height` wide: the centre square is the green one."""
    return np.concatenate([solid(height, height, c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]], axis=1)


def noise_folder(root, n, side=8):
    for i in range(n):
        save_png(root / f"{i:03d}.png", np.random.default_rng(i).integers(0, 256, (side, side, 3), dtype=np.uint8))
    return root


def cached_files(cache):
    return sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) if cache.exists() else []


def test_class_folders_give_labels_and_square_crops(tmp_path):
    root = tmp_path / "images"
    save_png(root / "cats" / "a.png", three_stripes(12))
    save_png(root / "cats" / "b.png", solid(30, 20, (10, 20, 30)))
    save_png(root / "dogs" / "c.png", solid(16, 16, (200, 100, 50)))
    (root / "dogs" / "notes.txt").write_text("not an image")
    data = image_folder(str(root), image_size=12, channels=3, cache_dir=str(tmp_path / "cache"))
    assert data.x.dtype == torch.uint8 and data.x.shape == (3, 3, 12, 12)
    assert data.y.dtype == torch.int64 and data.y.tolist() == [0, 0, 1] and data.num_classes == 2
    for image, rgb in zip(data.x, [(0, 255, 0), (10, 20, 30), (200, 100, 50)], strict=True):
        assert torch.equal(image, torch.tensor(rgb, dtype=torch.uint8).view(3, 1, 1).expand(3, 12, 12))
    assert data.samples(torch.tensor([2]))[0, :, 0, 0].tolist() == pytest.approx([200 / 127.5 - 1, 100 / 127.5 - 1,
                                                                                 50 / 127.5 - 1])


def test_flat_folder_has_no_labels_and_converts_to_grayscale(tmp_path):
    colours = [(255, 255, 255), (0, 0, 0), (200, 100, 50)]
    for i, rgb in enumerate(colours):
        save_png(tmp_path / "images" / f"{i}.png", solid(20, 40, rgb))
    data = image_folder(str(tmp_path / "images"), image_size=8, channels=1, cache_dir=str(tmp_path / "cache"))
    assert data.y is None and data.num_classes == 0
    assert data.x.dtype == torch.uint8 and data.x.shape == (3, 1, 8, 8)
    grey = [Image.new("RGB", (1, 1), rgb).convert("L").getpixel((0, 0)) for rgb in colours]
    assert data.x.amax(dim=(1, 2, 3)).tolist() == grey and data.x.amin(dim=(1, 2, 3)).tolist() == grey


def test_a_root_under_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    noise_folder(tmp_path / "faces", 2)
    assert len(image_folder("~/faces", image_size=8, channels=3, cache_dir=str(tmp_path / "cache"))) == 2


def test_missing_folder_is_one_line(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(UserError) as err:
        image_folder(str(missing), image_size=8, channels=3, cache_dir=str(tmp_path / "cache"))
    assert "\n" not in str(err.value) and str(missing) in str(err.value) and "data.root=" in str(err.value)


@pytest.mark.parametrize("layout", ["flat", "class_folders"])
def test_folder_without_images_is_one_line(tmp_path, layout):
    root = tmp_path / "images"
    if layout == "class_folders":
        (root / "empty_class").mkdir(parents=True)
    root.mkdir(exist_ok=True)
    (root / "readme.txt").write_text("no images here")
    with pytest.raises(UserError) as err:
        image_folder(str(root), image_size=8, channels=3, cache_dir=str(tmp_path / "cache"))
    assert "\n" not in str(err.value) and str(root) in str(err.value) and "data.root=" in str(err.value)


def test_unreadable_images_name_the_first_bad_file_and_leave_no_cache(tmp_path):
    root = tmp_path / "images"
    save_png(root / "0_good.png", solid(8, 8, (1, 2, 3)))
    (root / "1_garbage.png").write_bytes(b"not a png at all")
    good = (root / "0_good.png").read_bytes()
    (root / "2_truncated.png").write_bytes(good[: len(good) // 2])
    cache = tmp_path / "cache"
    with pytest.raises(UserError) as err:
        image_folder(str(root), image_size=8, channels=3, cache_dir=str(cache))
    message = str(err.value)
    assert "\n" not in message and str(root / "1_garbage.png") in message and "2_truncated" not in message
    assert cached_files(cache) == []  # neither a cache file nor a temporary one


def test_truncated_image_is_reported(tmp_path):
    save_png(tmp_path / "images" / "a.png", np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    data = (tmp_path / "images" / "a.png").read_bytes()
    (tmp_path / "images" / "a.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        image_folder(str(tmp_path / "images"), image_size=8, channels=3, cache_dir=str(tmp_path / "cache"))


class CountingDecoder:
    """The real decoder, counted."""

    def __init__(self, monkeypatch):
        self.calls, real = 0, decoded.decode_into

        def counted(*args):
            self.calls += 1
            real(*args)

        monkeypatch.setattr(decoded, "decode_into", counted)


def test_decoded_once_then_mapped_from_the_cache(tmp_path, monkeypatch):
    root, cache = noise_folder(tmp_path / "images", 5), tmp_path / "cache"
    decoder = CountingDecoder(monkeypatch)
    first = image_folder(str(root), image_size=8, channels=3, cache_dir=str(cache))
    again = image_folder(str(root), image_size=8, channels=3, cache_dir=str(cache))
    assert decoder.calls == 1 and torch.equal(first.x, again.x)
    expected = np.stack([np.asarray(Image.open(root / f"{i:03d}.png")).transpose(2, 0, 1) for i in range(5)])
    assert torch.equal(again.x, torch.from_numpy(expected))
    assert cached_files(cache) == [f"images-8px-3c-{again.content_id}.npy"]


@pytest.mark.parametrize("change", ["rewritten file", "new file", "other size", "other channels", "corrupt cache"])
def test_a_changed_folder_is_decoded_again(tmp_path, monkeypatch, change):
    root, cache = noise_folder(tmp_path / "images", 4), tmp_path / "cache"
    first = image_folder(str(root), image_size=8, channels=3, cache_dir=str(cache))
    size, channels = 8, 3
    if change == "rewritten file":
        save_png(root / "001.png", solid(8, 8, (9, 9, 9)))
        os.utime(root / "001.png", ns=(0, 10**9))  # a different modification time even on a coarse clock
    elif change == "new file":
        save_png(root / "zzz.png", solid(8, 8, (9, 9, 9)))
    elif change == "other size":
        size = 4
    elif change == "other channels":
        channels = 1
    else:
        (cache / cached_files(cache)[0]).write_bytes(b"\x93NUMPY truncated")
    decoder = CountingDecoder(monkeypatch)
    again = image_folder(str(root), image_size=size, channels=channels, cache_dir=str(cache))
    assert decoder.calls == 1
    if change == "rewritten file":
        assert again.x[1, :, 0, 0].tolist() == [9, 9, 9]
    elif change == "new file":
        assert torch.equal(again.x[:4], first.x) and again.x[4, :, 0, 0].tolist() == [9, 9, 9]


def test_the_mapped_pixels_are_writable_but_never_change_the_cache(tmp_path):
    root, cache = noise_folder(tmp_path / "images", 3), tmp_path / "cache"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns about non-writable numpy arrays
        data = image_folder(str(root), image_size=8, channels=3, cache_dir=str(cache))
    before = data.x.clone()
    data.x.zero_()  # copy-on-write: this process's pages only
    assert torch.equal(image_folder(str(root), image_size=8, channels=3, cache_dir=str(cache)).x, before)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_reading_every_pixel_adds_page_cache_not_private_memory(tmp_path):
    # 250 tiny PNGs upscaled to 256 px: 49 MB of pixels. Mapped, they are file pages; copied, they would be private.
    root, cache = noise_folder(tmp_path / "images", 250, side=4), tmp_path / "cache"
    image_folder(str(root), image_size=256, channels=3, cache_dir=str(cache))  # decoding writes the cache
    data = image_folder(str(root), image_size=256, channels=3, cache_dir=str(cache))
    size_kib = data.x.numel() // 1024
    anon, file = _rss_kib("RssAnon"), _rss_kib("RssFile")
    total = int(data.x.sum(dtype=torch.int64))  # touches every page
    assert total > 0
    assert _rss_kib("RssAnon") - anon < size_kib // 5
    assert _rss_kib("RssFile") - file > size_kib // 2


def _racer(root, cache, here, racers):
    """One job that decodes the folder, slowly, once all `racers` are ready; its pixel sum in here/sum.<pid>."""
    torch.set_num_threads(1)  # no OpenMP pool of the parent's in this fork
    real = decoded.decode_into

    def slow(*args):
        with open(here / "decodes.log", "a") as log:
            log.write("decode\n")
        time.sleep(1.0)  # a wide window for the other jobs to race into
        real(*args)

    decoded.decode_into = slow  # in this forked process only
    (here / f"ready.{os.getpid()}").touch()
    while len(list(here.glob("ready.*"))) < racers:  # start together
        time.sleep(0.01)
    (here / f"sum.{os.getpid()}").write_text(str(int(image_folder(str(root), 8, 3, str(cache)).x.sum())))


def test_jobs_started_together_decode_once(tmp_path):
    """Four processes (forked from this one, which has imported torch already: fresh ones would spend their
    seconds on it) decode one folder into one cache at the same moment: one decodes, the others wait and map it."""
    root, cache, here = noise_folder(tmp_path / "images", 6), tmp_path / "cache", tmp_path / "jobs"
    here.mkdir()
    fork = multiprocessing.get_context("fork")
    jobs = [fork.Process(target=_racer, args=(root, cache, here, 4)) for _ in range(4)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=120)
    assert [job.exitcode for job in jobs] == [0] * 4
    assert (here / "decodes.log").read_text() == "decode\n"
    sums = {path.read_text() for path in here.glob("sum.*")}
    assert len(sums) == 1 and int(sums.pop()) > 0
    assert len(cached_files(cache)) == 1 and cached_files(cache)[0].endswith(".npy")  # no temporary file left
