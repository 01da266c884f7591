"""Segmentation metrics from one confusion matrix accumulated over a whole split.

mIoU is the mean over classes present in the ground truth or the prediction of the split
(a class absent from both has no IoU and is left out), as the official evaluation does.
"""

from __future__ import annotations

import numpy as np


class ConfusionMatrix:
    """Rows: ground truth, columns: prediction; pixels labelled `ignore_index` are skipped."""

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, label: np.ndarray, pred: np.ndarray) -> None:
        if label.shape != pred.shape:
            raise ValueError(f"label {label.shape} and prediction {pred.shape} differ in shape")
        label = label.ravel().astype(np.int64)
        pred = pred.ravel().astype(np.int64)
        keep = (label != self.ignore_index) & (label >= 0) & (label < self.num_classes)
        k = self.num_classes
        if keep.any() and (pred[keep].min() < 0 or pred[keep].max() >= k):
            raise ValueError(f"prediction holds class ids outside 0..{k - 1}")
        self.matrix += np.bincount(label[keep] * k + pred[keep], minlength=k * k).reshape(k, k)

    def per_class_iou(self) -> np.ndarray:
        return iou_from_confusion(self.matrix)

    def miou(self) -> float:
        return miou_from_confusion(self.matrix)

    def pixel_accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else float("nan")


def iou_from_confusion(matrix: np.ndarray) -> np.ndarray:
    """IoU per class; NaN for a class absent from both ground truth and prediction."""
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def miou_from_confusion(matrix: np.ndarray) -> float:
    """Mean IoU in percent points (61.433, not 0.61433)."""
    iou = iou_from_confusion(matrix)
    return float(np.nanmean(iou) * 100) if np.isfinite(iou).any() else float("nan")


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(pixels where two class maps agree, pixels compared)."""
    return int((a == b).sum()), int(a.size)
