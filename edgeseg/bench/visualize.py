"""Pictures people look at: colour masks, overlays, and where two models disagree.

All images here are BGR uint8, as OpenCV reads and writes them; palettes are RGB (as
datasets publish them) and are flipped once, in `colorize`.
"""

from __future__ import annotations

import numpy as np

from edgeseg.artifacts import atomic_path
from edgeseg.data.contract import DatasetInfo
from edgeseg.errors import EdgesegError, OptionError, field

DISAGREE_BGR = (255, 0, 255)  # magenta: visible on every CamVid / Cityscapes colour
DIM = 0.4  # agreeing pixels keep this fraction of their grey brightness


def bgr_table(palette) -> np.ndarray:
    """256 x 3 BGR colours by class id (palette is RGB per class; ids beyond it are black)."""
    table = np.zeros((256, 3), np.uint8)
    rgb = np.asarray(palette, np.uint8).reshape(-1, 3)
    table[: len(rgb)] = rgb[:, ::-1]
    return table


def colorize(labels: np.ndarray, palette) -> np.ndarray:
    """Class map -> BGR colour image (palette is RGB per class; ids beyond it are black)."""
    ids = np.asarray(labels)
    return bgr_table(palette)[np.where((ids >= 0) & (ids < 256), ids, 255).astype(np.uint8)]


def palette_for(runner, dataset: str | None = None):
    """The palette to paint with: the named dataset's, else the one in the artifact's metadata."""
    meta = runner.metadata.get("dataset")
    if dataset is None:
        if not meta:
            raise OptionError(f"{runner.path}: no dataset in its metadata; name one with {field('dataset')} "
                              "camvid|cityscapes")
        return DatasetInfo.from_dict(meta).palette
    info = DatasetInfo.named(dataset)
    if meta and len(meta.get("classes", [])) != info.num_classes:
        raise EdgesegError(f"{runner.path} predicts {len(meta['classes'])} classes; {info.name} has {info.num_classes}")
    return info.palette


def overlay(image_bgr: np.ndarray, mask_bgr: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The mask blended over the image; `alpha` is the mask's opacity."""
    if not 0.0 <= alpha <= 1.0:
        raise EdgesegError(f"overlay opacity must be within 0..1, got {alpha}")
    if image_bgr.shape != mask_bgr.shape:
        raise EdgesegError(f"image {image_bgr.shape} and mask {mask_bgr.shape} differ in shape")
    blended = image_bgr.astype(np.float32) * (1 - alpha) + mask_bgr.astype(np.float32) * alpha
    return blended.round().astype(np.uint8)


def disagreement(image_bgr: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """(map, agreement fraction): the image dimmed to grey where the two class maps agree,
    magenta where they differ."""
    if a.shape != b.shape or a.shape != image_bgr.shape[:2]:
        raise EdgesegError(f"class maps {a.shape} and {b.shape} do not match the image {image_bgr.shape[:2]}")
    grey = (image_bgr.mean(axis=2, keepdims=True) * DIM).astype(np.uint8).repeat(3, axis=2)
    differ = a != b
    grey[differ] = DISAGREE_BGR
    return grey, float(1.0 - differ.mean())


def write_png(path, image_bgr: np.ndarray) -> None:
    """Write a BGR image as PNG atomically (a half-written file never appears under `path`)."""
    import cv2


    ok, data = cv2.imencode(".png", image_bgr)
    if not ok:
        raise EdgesegError(f"cannot encode {path} as PNG (image shape {image_bgr.shape})")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())
