"""mIoU of several artifacts over one split, in one pass, with drop and agreement vs the first.

Every artifact is fed exactly what its metadata's preprocessing contract says; logits are
resized back to the label size (bilinear, the official test's way) or labels to the model
size (nearest). One confusion matrix per artifact over the whole split.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.data.loader import prefetch
from edgeseg.data.metrics import ConfusionMatrix
from edgeseg.errors import EdgesegError

RESIZE_MODES = ("logits", "labels")


@dataclass
class ArtifactScore:
    path: str
    backend: str
    precision: str
    confusion: ConfusionMatrix
    agree: int = 0
    compared: int = 0
    seconds: float = 0.0

    def to_dict(self, names, reference: "ArtifactScore | None") -> dict:
        iou = self.confusion.per_class_iou()
        miou = self.confusion.miou()
        return {
            "path": self.path, "backend": self.backend, "precision": self.precision,
            "miou": round(miou, 4), "pixel_acc": round(self.confusion.pixel_accuracy() * 100, 4),
            "per_class_iou": {n: (None if np.isnan(v) else round(float(v) * 100, 4)) for n, v in zip(names, iou)},
            "miou_drop": None if reference is None else round(reference.confusion.miou() - miou, 4),
            "agreement": None if reference is None else round(self.agree / max(self.compared, 1) * 100, 4),
            "seconds": round(self.seconds, 3),
            "confusion": self.confusion.matrix.tolist(),
        }


@dataclass
class EvalResult:
    dataset: str
    split: str
    images: int
    resize: str
    scores: list[ArtifactScore] = field(default_factory=list)
    class_names: tuple = ()

    def to_dict(self) -> dict:
        ref = self.scores[0] if self.scores else None
        return {"dataset": self.dataset, "split": self.split, "images": self.images, "resize": self.resize,
                "classes": list(self.class_names),
                "artifacts": [s.to_dict(self.class_names, None if s is ref else ref) for s in self.scores]}


def _feeder(runner):
    """(key, function image -> model input batch of one) for a runner, from its metadata."""
    meta = runner.metadata
    if not meta.get("preprocess"):
        raise EdgesegError(f"{runner.path}: no preprocessing contract in its metadata (sidecar or ONNX metadata)")
    pre = Preprocess.from_dict(meta["preprocess"])
    if pre.input_size is None:  # dynamic model: run at the shape the runner declares, else at image size
        shape = runner.io_spec.input_shape
        dims = shape[1:3] if meta.get("embedded_preprocess") else shape[2:4]
        if len(dims) == 2 and all(isinstance(d, int) for d in dims):
            pre = Preprocess(**{**pre.__dict__, "input_size": tuple(dims)})
    if meta.get("embedded_preprocess"):
        return f"uint8 {pre.input_size}", lambda img: pre.resize(img)[None]
    return json.dumps(pre.to_dict(), sort_keys=True), lambda img: pre.apply(img)[None]


def to_labels(out: np.ndarray, label_shape, resize: str) -> np.ndarray:
    """Class map at the label's size ('logits' mode) or at the model's size ('labels' mode)."""
    import cv2

    h, w = label_shape
    if out.ndim == 3:  # the model already gives labels
        labels = out[0]
        if resize == "logits" and labels.shape != (h, w):
            labels = cv2.resize(labels.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
        return labels
    logits = out[0]
    if resize == "logits" and logits.shape[1:] != (h, w):
        hwc = np.ascontiguousarray(logits.transpose(1, 2, 0))
        resized = cv2.resize(hwc, (w, h), interpolation=cv2.INTER_LINEAR)
        return resized.reshape(h, w, -1).argmax(2)
    return logits.argmax(0)


def _label_at(label: np.ndarray, shape, resize: str) -> np.ndarray:
    import cv2

    if resize == "labels" and label.shape != tuple(shape):
        return cv2.resize(label, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return label


def evaluate(runners, dataset, *, resize: str = "logits", progress=None) -> EvalResult:
    """Evaluate activated runners on `dataset`; the first runner is the reference."""
    if resize not in RESIZE_MODES:
        raise EdgesegError(f"--resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    info: DatasetInfo = dataset.info
    feeders = [_feeder(r) for r in runners]
    for r in runners:
        classes = r.metadata.get("dataset", {}).get("classes")
        if classes is not None and len(classes) != info.num_classes:
            raise EdgesegError(f"{r.path} predicts {len(classes)} classes; {info.name} has {info.num_classes}")
    unique = {key: fn for key, fn in feeders}
    scores = [ArtifactScore(r.path, r.backend, r.metadata.get("precision", "fp32"),
                            ConfusionMatrix(info.num_classes, info.ignore_index)) for r in runners]

    def prepare(sample):
        image, label = dataset.load(sample)
        if label is None:
            raise EdgesegError(f"image {sample.image} has no label: evaluation needs labels")
        return label, {key: fn(image) for key, fn in unique.items()}

    for label, inputs in prefetch(dataset.samples, prepare):
        ref_pred = None
        for runner, (key, _), score in zip(runners, feeders, scores):
            t0 = time.perf_counter()
            out = runner.infer(inputs[key])
            score.seconds += time.perf_counter() - t0
            model_shape = out.shape[-2:]
            pred = to_labels(out, label.shape, resize)
            gt = _label_at(label, model_shape, resize)
            score.confusion.update(gt, pred)
            if ref_pred is None:
                ref_pred = pred
            elif pred.shape == ref_pred.shape:
                score.agree += int((pred == ref_pred).sum())
                score.compared += pred.size
        if progress:
            progress()
    return EvalResult(info.name, dataset.split, len(dataset), resize, scores, info.classes)
