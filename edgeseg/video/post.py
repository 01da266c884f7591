"""From a model output to what the video shows, fast enough not to take the model's cores.

On a 2-core CPU every millisecond of host work per frame is taken from inference. NumPy's
`argmax(0)` over 11 x 360 x 480 logits walks the class axis with a stride and costs more than the
rest of the frame's host work together; a running maximum over the classes with OpenCV's vectorised
compare/max/copy gives the same class map (ties to the lowest class, as argmax) several times
faster (a masked copy of a constant image per class, not NumPy's boolean assignment, which alone
costs 6x more). The palette and the blend are OpenCV table look-ups and a weighted add.
"""

from __future__ import annotations

import functools

import numpy as np

from edgeseg.bench.accuracy import to_labels
from edgeseg.bench.visualize import bgr_table


def class_map(out: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The class map of one output at `size` (H, W): `to_labels(out, size, "logits")`, exactly."""
    if out.ndim != 3 or out.dtype != np.float32 or out.shape[1:] != tuple(size) or not 1 < out.shape[0] <= 256:
        return to_labels(out, size, "logits")
    import cv2

    best, labels, ids = out[0].copy(), np.zeros(out.shape[1:], np.uint8), _class_ids(out.shape)
    for c in range(1, out.shape[0]):
        higher = cv2.compare(out[c], best, cv2.CMP_GT)  # strictly: a tie keeps the lower class
        cv2.max(best, out[c], dst=best)
        cv2.copyTo(ids[c], higher, labels)  # 6x cheaper than NumPy's labels[higher] = c
    return labels


@functools.lru_cache(maxsize=2)
def _class_ids(shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """One constant H x W uint8 image per class id (read only), made once per output shape."""
    return tuple(np.full(shape[1:], c, np.uint8) for c in range(shape[0]))


class Painter:
    """Class map -> BGR colours -> blended over the frame: `colorize`'s colours exactly, `overlay`'s
    blend to within 1 (OpenCV rounds its weighted sum once, NumPy after two products)."""

    def __init__(self, palette, alpha: float):
        self.table, self.alpha = bgr_table(palette).reshape(256, 1, 3), alpha

    def __call__(self, image_bgr: np.ndarray, labels: np.ndarray) -> np.ndarray:
        import cv2

        ids = labels if labels.dtype == np.uint8 else np.where((labels >= 0) & (labels < 256), labels, 255).astype(np.uint8)
        colours = cv2.applyColorMap(ids, self.table)  # the palette as a user colour map: ids -> BGR
        return cv2.addWeighted(image_bgr, 1.0 - self.alpha, colours, self.alpha, 0.0)
