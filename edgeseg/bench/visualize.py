"""Pictures people look at: colour masks, overlays, and where two models disagree."""

from __future__ import annotations

import numpy as np


def colorize(labels: np.ndarray, palette) -> np.ndarray:
    """Class map -> BGR colour image (palette is RGB per class; out-of-range ids are black)."""
    table = np.zeros((256, 3), np.uint8)
    rgb = np.asarray(palette, np.uint8)
    table[: len(rgb)] = rgb[:, ::-1]
    return table[labels.astype(np.uint8)]


def overlay(image_bgr: np.ndarray, mask_bgr: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    blended = image_bgr.astype(np.float32) * (1 - alpha) + mask_bgr.astype(np.float32) * alpha
    return blended.round().astype(np.uint8)


DISAGREE_BGR = (255, 0, 255)  # magenta: visible on every CamVid / Cityscapes colour


def disagreement(image_bgr: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """Image dimmed to grey where the two class maps agree, magenta where they differ."""
    grey = (image_bgr.mean(axis=2, keepdims=True) * 0.4).astype(np.uint8).repeat(3, axis=2)
    differ = a != b
    grey[differ] = DISAGREE_BGR
    return grey, float(1.0 - differ.mean())
