"""mIoU of several artifacts over one split, in one pass, with drop and agreement vs the first.

Every artifact is fed exactly what its metadata's preprocessing contract says; logits are
resized back to the label size (bilinear, the official test's way) or labels to the model
size (nearest). One confusion matrix per artifact over the whole split.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.data.loader import prefetch
from edgeseg.data.metrics import ConfusionMatrix
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.memory import check_fits, fit_within

RESIZE_MODES = ("logits", "labels")
_LOGITS_AT_LABEL_SIZE = 1 << 30  # bytes; above it, logits are not resized to the label size


def _pct(num: int, den: int) -> float | None:
    return round(num / den * 100, 4) if den else None


def _finite(v: float) -> float | None:
    """Rounded, or None (JSON null) for a figure that could not be measured: never a bare NaN."""
    return round(v, 4) if np.isfinite(v) else None


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
            "miou": _finite(miou), "pixel_acc": _finite(self.confusion.pixel_accuracy() * 100),
            "per_class_iou": {n: (None if np.isnan(v) else round(float(v) * 100, 4)) for n, v in zip(names, iou)},
            "miou_drop": None if reference is None else _finite(reference.confusion.miou() - miou),
            "agreement": None if reference is None else _pct(self.agree, self.compared),
            "seconds": round(self.seconds, 3),
            "confusion": self.confusion.matrix.tolist(),
        }


@dataclass
class EvalResult:
    """Scores of every artifact on one split; the first is the reference for drop and agreement."""

    dataset: str
    split: str
    images: int
    resize: str
    scores: list[ArtifactScore] = field(default_factory=list)
    class_names: tuple = ()
    batch: int = 1

    def check_measured(self) -> "EvalResult":
        """Refuse a split with no labelled pixel: its mIoU is not a number, and must not pass as one."""
        if self.scores and not self.scores[0].confusion.matrix.any():
            cm = self.scores[0].confusion
            raise OptionError(f"no labelled pixel in the {self.images} images of {self.split}: every label pixel is "
                               f"{cm.ignore_index} (ignored) or outside 0..{cm.num_classes - 1}, so mIoU cannot be "
                               f"measured; check the labels (labelIds vs labelTrainIds, {f('dataset')})")
        return self

    def to_dict(self) -> dict:
        ref = self.scores[0] if self.scores else None
        return {"dataset": self.dataset, "split": self.split, "images": self.images, "resize": self.resize,
                "batch": self.batch, "classes": list(self.class_names),
                "artifacts": [s.to_dict(self.class_names, None if s is ref else ref) for s in self.scores]}


def feeder(runner) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """(key, function BGR image -> one model input without batch axis), from the runner's metadata.

    Runners with the same key take the same input, so it is prepared once for all of them.
    """
    meta = runner.metadata
    if not meta.get("preprocess"):
        raise EdgesegError(f"{runner.path}: no preprocessing contract in its metadata (sidecar or ONNX metadata)")
    pre = Preprocess.from_dict(meta["preprocess"])
    embedded = bool(meta.get("embedded_preprocess"))
    if pre.input_size is None:  # dynamic contract: run at the shape the runner declares, else at image size
        shape = tuple(runner.io_spec.input_shape)
        dims = shape[1:3] if embedded else shape[2:4]
        if len(dims) == 2 and all(isinstance(d, int) and d > 0 for d in dims):
            pre = Preprocess(**{**pre.__dict__, "input_size": tuple(dims)})
    prepare = pre.resize if embedded else pre.apply
    key = f"uint8 NHWC BGR {pre.input_size}" if embedded else json.dumps(pre.to_dict(), sort_keys=True)
    if pre.input_size is None:  # at the image's own size, but never larger than the dataset's
        prepare = _capped(pre, embedded, (meta.get("dataset") or {}).get("input_size"),
                          (meta.get("model") or {}).get("variant"))
    return key, prepare


def _capped(pre: Preprocess, embedded: bool, limit, variant):
    """Run an image at its own size, resized down (aspect kept) to the dataset's pixel count when
    larger, and refused when even that would not fit in memory: an 8000x8000 PNG of 200 KB must
    not become 30 GB of activations."""
    def prepare(image):
        size = fit_within(image.shape[:2], limit) if limit else tuple(image.shape[:2])
        check_fits(variant, size)
        sized = Preprocess(**{**pre.__dict__, "input_size": size})
        return sized.resize(image) if embedded else sized.apply(image)

    return prepare


def to_labels(out: np.ndarray, label_shape, resize: str = "logits") -> np.ndarray:
    """One output (K x H x W logits, or H x W integer labels) -> class map.

    'logits' mode: at the label's size (logits resized bilinearly, align_corners=False, then
    argmax; labels resized nearest). 'labels' mode: at the model's own size.
    """
    import cv2

    h, w = label_shape
    if np.issubdtype(out.dtype, np.integer) or out.ndim == 2:
        labels = out.reshape(out.shape[-2:])
        if resize == "logits" and labels.shape != (h, w):
            labels = cv2.resize(labels.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
        return labels
    if resize == "logits" and out.shape[1:] != (h, w) and out.shape[0] * h * w * 4 > _LOGITS_AT_LABEL_SIZE:
        # Logits of a huge image at full size would take GBs: classes at model size, upscaled nearest.
        return cv2.resize(out.argmax(0).astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
    if resize == "logits" and out.shape[1:] != (h, w):
        # cv2 resizes every channel independently: the same as one bilinear resize per class.
        hwc = np.ascontiguousarray(out.transpose(1, 2, 0), dtype=np.float32)
        return cv2.resize(hwc, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1).argmax(2)
    return out.argmax(0)


def predict_labels(runner, image: np.ndarray) -> np.ndarray:
    """Class map of one BGR image at its own size, fed as the runner's contract says."""
    _, feed = feeder(runner)
    return to_labels(run_batch(runner, feed(image)[None])[0], image.shape[:2], "logits")


def run_batch(runner, batch: np.ndarray) -> np.ndarray:
    """Infer a batch, split into chunks when the model has a fixed batch size smaller than it."""
    fixed = runner.io_spec.input_shape[0] if runner.io_spec.input_shape else None
    step = fixed if isinstance(fixed, int) and fixed > 0 else len(batch)
    if step >= len(batch):
        return runner.infer(batch)
    if len(batch) % step:
        raise OptionError(f"{runner.path} takes batches of exactly {step}; {f('batch')} must be a multiple of it")
    return np.concatenate([runner.infer(batch[i:i + step]) for i in range(0, len(batch), step)])


def _label_at(label: np.ndarray, shape, resize: str) -> np.ndarray:
    import cv2

    if resize == "labels" and label.shape != tuple(shape):
        return cv2.resize(label, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return label


def _groups(items: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    """Consecutive (label, inputs) items in groups of `size` whose inputs can be stacked."""
    group: list[tuple] = []
    for item in items:
        if group and any(item[1][k].shape != v.shape for k, v in group[0][1].items()):
            yield group
            group = []
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def check_classes(runners, info: DatasetInfo) -> None:
    """Every runner must predict the dataset's classes (checked from metadata, before any image)."""
    for r in runners:
        classes = r.metadata.get("dataset", {}).get("classes")
        if classes is not None and len(classes) != info.num_classes:
            raise EdgesegError(f"{r.path} predicts {len(classes)} classes; the {info.name} dataset has "
                               f"{info.num_classes}: evaluate it with the dataset it was trained on")


def check_label_space(runners) -> None:
    """Runners compared pixel by pixel must predict the same classes, in the same order: an
    agreement figure between two label spaces means nothing."""
    spaces = [(r, (r.metadata.get("dataset") or {}).get("classes")) for r in runners]
    spaces = [(r, list(c)) for r, c in spaces if isinstance(c, (list, tuple))]
    for r, classes in spaces[1:]:
        ref, ref_classes = spaces[0]
        if classes != ref_classes:
            first = next((i for i, (a, b) in enumerate(zip(ref_classes, classes)) if a != b), None)
            diff = (f"{len(ref_classes)} vs {len(classes)} classes" if first is None else
                    f"class {first} is {ref_classes[first]!r} vs {classes[first]!r}")
            raise EdgesegError(f"{r.path} and {ref.path} predict different label spaces ({diff}): their agreement "
                               "would mean nothing")


def _score_group(runner, key, score, group, resize: str, num_classes: int) -> list[np.ndarray]:
    """Run one runner on a group and add it to its confusion matrix; returns its class maps."""
    t0 = time.perf_counter()
    out = run_batch(runner, np.stack([inputs[key] for _, inputs in group]))
    score.seconds += time.perf_counter() - t0
    if np.issubdtype(out.dtype, np.floating) and out.ndim == 4 and out.shape[1] != num_classes:
        raise EdgesegError(f"{runner.path} gives {out.shape[1]} output channels; the dataset has {num_classes} classes")
    preds = []
    for (label, _), one in zip(group, out):
        pred = to_labels(one, label.shape, resize)
        score.confusion.update(_label_at(label, pred.shape, resize), pred)
        preds.append(pred)
    return preds


def evaluate(runners, dataset, *, resize: str = "logits", batch: int = 1, progress=None,
             shard: bool = False) -> EvalResult:
    """Evaluate activated runners on `dataset`; the first runner is the reference.

    Images are read and preprocessed ahead in a background thread; `progress()` is called once
    per image. A split without one labelled pixel is refused (a `shard` of one is not: the
    others may have them, and the sum is checked).
    """
    if resize not in RESIZE_MODES:
        raise OptionError(f"{f('resize')} must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    if batch < 1:
        raise OptionError(f"{f('batch')} must be at least 1, got {batch}")
    info: DatasetInfo = dataset.info
    check_classes(runners, info)
    check_label_space(runners)
    feeders = [feeder(r) for r in runners]
    unique = dict(feeders)
    scores = [ArtifactScore(r.path, r.backend, r.metadata.get("precision", "fp32"),
                            ConfusionMatrix(info.num_classes, info.ignore_index)) for r in runners]

    def prepare(sample):
        image, label = dataset.load(sample)
        if label is None:
            raise EdgesegError(f"image {sample.image} has no label: evaluation needs labels")
        return label, {key: fn(image) for key, fn in unique.items()}

    for group in _groups(prefetch(dataset.samples, prepare), batch):
        reference = None
        for runner, (key, _), score in zip(runners, feeders, scores):
            preds = _score_group(runner, key, score, group, resize, info.num_classes)
            if reference is None:
                reference = preds
                continue
            for pred, ref in zip(preds, reference):
                if pred.shape == ref.shape:  # 'labels' mode with models of different sizes: not comparable
                    score.agree += int((pred == ref).sum())
                    score.compared += pred.size
        for _ in group:
            if progress:
                progress()
    result = EvalResult(info.name, dataset.split, len(dataset), resize, scores, info.classes, batch)
    return result if shard else result.check_measured()
