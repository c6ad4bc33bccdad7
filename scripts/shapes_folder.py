"""A folder of synthetic photographs-like PNGs with no class subfolders (the CelebA/FFHQ layout), for benchmarks.

    .venv/bin/python scripts/shapes_folder.py DIR [--n 20000] [--size 64]

Each image: a two-colour gradient at a random angle, 2 to 5 filled shapes (ellipses, rectangles, triangles) of
random colours, some translucent, a slight blur and sensor noise. Image i depends only on i, so the folder is the
same on every machine; images already there are kept, so a second call costs only the listing.
"""
import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def shapes_image(index: int, size: int) -> Image.Image:
    rng = np.random.default_rng(index)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-1, 1, size)
    t = (np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None] + 1.5) / 3  # in [0, 1]
    low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    canvas = Image.fromarray((low + t[..., None] * (high - low)).astype(np.uint8), "RGB")
    layer = Image.new("RGBA", (size, size))
    draw = ImageDraw.Draw(layer)
    for _ in range(rng.integers(2, 6)):
        x0, y0 = rng.uniform(-0.1, 0.8, 2) * size
        w, h = rng.uniform(0.15, 0.6, 2) * size
        colour = (*rng.integers(0, 256, 3).tolist(), int(rng.choice([255, 160])))
        box = [x0, y0, x0 + w, y0 + h]
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(x0, y0 + h), (x0 + w / 2, y0), (x0 + w, y0 + h)], fill=colour)
    canvas = Image.alpha_composite(canvas.convert("RGBA"), layer).convert("RGB")
    canvas = canvas.filter(ImageFilter.GaussianBlur(0.6))
    noisy = np.asarray(canvas, dtype=np.float32) + rng.normal(0, 3, (size, size, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8), "RGB")


def _write(task: tuple[str, int, int]) -> None:
    path, index, size = task
    if not os.path.exists(path):
        tmp = f"{path}.tmp.png"
        shapes_image(index, size).save(tmp)
        os.replace(tmp, path)


def make_folder(folder: Path, n: int, size: int) -> Path:
    """`folder` with images 000000.png .. of `size` px; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [(str(folder / f"{i:06d}.png"), i, size) for i in range(n)]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(_write, tasks, chunksize=256))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    make_folder(args.folder, args.n, args.size)
    print(f"{args.n} images of {args.size} px in {args.folder}")


if __name__ == "__main__":
    main()
