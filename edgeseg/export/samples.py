"""Inputs for verification: the user's real images, or deterministic synthetic ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeseg.data.contract import Preprocess
from edgeseg.data.images import read_image
from edgeseg.data.listfile import read_lines
from edgeseg.errors import EdgesegError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp"}


def synthetic_images(n: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """Smooth random BGR images: coarse noise upsampled, so activations look like a scene's."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    out = []
    for _ in range(n):
        coarse = rng.integers(0, 256, (max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
        img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        fine = rng.integers(-12, 13, (h, w, 3))
        out.append(np.clip(img.astype(np.int16) + fine, 0, 255).astype(np.uint8))
    return out


def image_paths(source: str, limit: int | None = None) -> list[Path]:
    """A folder of images, or a list file (first token per line; '#' lines skipped)."""
    src = Path(source)
    if src.is_dir():
        paths = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    elif src.is_file():
        paths = []

        for line in read_lines(src, "sample list"):
            line = line.strip()
            if line and not line.startswith("#"):
                paths.append((src.parent / line.split()[0]).resolve())
    else:
        raise EdgesegError(f"samples: {source} is neither a folder nor a list file")
    if not paths:
        raise EdgesegError(f"samples: no images found in {source}")
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise EdgesegError(f"samples: {len(missing)} listed images do not exist (first: {missing[0]})")
    return paths[:limit] if limit else paths


def read_images(paths) -> list[np.ndarray]:
    return [read_image(p) for p in paths]


def batches(preprocess, images, size, uint8: bool = False) -> list[np.ndarray]:
    """BGR images as a model of `preprocess` at `size` takes them: resized uint8 NHWC (preprocessing
    in the graph) or preprocessed float NCHW, one batch of one per image."""
    pre = Preprocess(**{**preprocess.__dict__, "input_size": tuple(size)})
    return [pre.resize(img)[None] if uint8 else pre.apply(img)[None] for img in images]
