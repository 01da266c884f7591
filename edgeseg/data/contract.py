"""The preprocessing contract: what an official S²-FPN checkpoint expects, as data.

Getting this wrong costs tens of mIoU points silently, so it travels with every artifact
(ONNX metadata and JSON sidecar) and every consumer (evaluation, calibration, prediction)
builds its input through `Preprocess.apply`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from edgeseg.errors import EdgesegError


@lru_cache(maxsize=None)
def _table() -> dict:
    return json.loads(resources.files("edgeseg.data").joinpath("datasets.json").read_text())


def dataset_names() -> list[str]:
    return sorted(_table())


@dataclass(frozen=True)
class DatasetInfo:
    """Classes, palette and statistics of a dataset, carried in every artifact's metadata."""

    name: str
    classes: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]  # RGB per class
    ignore_index: int
    mean_bgr: tuple[float, float, float]
    input_size: tuple[int, int]  # default (H, W) for export and evaluation

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @classmethod
    def named(cls, name: str) -> "DatasetInfo":
        entry = _table().get(name.lower())
        if entry is None:
            raise EdgesegError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}")
        return cls(
            name=name.lower(),
            classes=tuple(entry["classes"]),
            palette=tuple(tuple(c) for c in entry["palette"]),
            ignore_index=int(entry["ignore_index"]),
            mean_bgr=tuple(entry["mean_bgr"]),
            input_size=tuple(entry["input_size"]),
        )

    @classmethod
    def for_classes(cls, num_classes: int) -> "DatasetInfo":
        """The dataset a checkpoint with this many classes was most likely trained on."""
        for name in dataset_names():
            info = cls.named(name)
            if info.num_classes == num_classes:
                return info
        return cls.generic(num_classes)

    @classmethod
    def generic(cls, num_classes: int) -> "DatasetInfo":
        rng = np.random.default_rng(num_classes)
        palette = tuple(tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(num_classes))
        return cls(
            name="generic",
            classes=tuple(f"class{i}" for i in range(num_classes)),
            palette=palette,
            ignore_index=255,
            mean_bgr=(0.0, 0.0, 0.0),
            input_size=(512, 1024),
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = list(self.classes)
        d["palette"] = [list(c) for c in self.palette]
        d["mean_bgr"] = list(self.mean_bgr)
        d["input_size"] = list(self.input_size)
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> "DatasetInfo":
        if not d:
            raise EdgesegError("the model's metadata has no dataset description (classes, palette, ignore "
                               "index): give a model exported by edgeseg, or a dataset that names its classes")
        try:
            return cls(
                name=str(d["name"]),
                classes=tuple(str(c) for c in d["classes"]),
                palette=tuple(tuple(int(v) for v in c) for c in d["palette"]),
                ignore_index=int(d["ignore_index"]),
                mean_bgr=tuple(float(v) for v in d["mean_bgr"]),
                input_size=tuple(int(v) for v in d["input_size"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EdgesegError(f"malformed dataset description in metadata: {type(exc).__name__} {exc}") from None


@dataclass(frozen=True)
class Preprocess:
    """BGR uint8 image -> model input.

    mean/std are given in the image's BGR order; `channel_order` is the order fed to the
    model (official checkpoints: RGB). `input_size` (H, W) is the size the model runs at;
    images of another size are resized (bilinear) to it.
    """

    mean_bgr: tuple[float, float, float]
    std_bgr: tuple[float, float, float] | None = None
    channel_order: str = "RGB"
    layout: str = "NCHW"
    input_size: tuple[int, int] | None = None
    interpolation: str = "bilinear"

    def __post_init__(self):
        if self.channel_order not in ("RGB", "BGR"):
            raise EdgesegError(f"channel order must be RGB or BGR, got {self.channel_order!r}")
        if self.layout != "NCHW":
            raise EdgesegError(f"layout must be NCHW, got {self.layout!r}")
        if len(self.mean_bgr) != 3 or (self.std_bgr is not None and len(self.std_bgr) != 3):
            raise EdgesegError("mean and std need three values (B,G,R)")
        if self.std_bgr is not None and any(s <= 0 for s in self.std_bgr):
            raise EdgesegError(f"std values must be positive, got {self.std_bgr}")

    @classmethod
    def official(cls, dataset: DatasetInfo, input_size=None) -> "Preprocess":
        size = tuple(input_size) if input_size else tuple(dataset.input_size)
        return cls(mean_bgr=tuple(dataset.mean_bgr), input_size=size)

    def resize(self, image_bgr: np.ndarray) -> np.ndarray:
        import cv2

        if self.input_size is None or tuple(image_bgr.shape[:2]) == tuple(self.input_size):
            return image_bgr
        h, w = self.input_size
        return cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_LINEAR)

    def apply(self, image_bgr: np.ndarray) -> np.ndarray:
        """HWC uint8 BGR -> CHW float32, exactly as the official code prepares a test image."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise EdgesegError(f"expected an H x W x 3 BGR image, got shape {image_bgr.shape}")
        img = self.resize(image_bgr)
        order = [2, 1, 0] if self.channel_order == "RGB" else [0, 1, 2]
        out = np.empty((3, *img.shape[:2]), np.float32)
        # one pass from HWC uint8 to CHW float32 (the same float32 arithmetic as converting first,
        # 4x faster: a video frame's preprocessing takes its time from the model on a small CPU)
        np.subtract(img.transpose(2, 0, 1)[order], np.asarray(self.mean_bgr, np.float32)[order, None, None], out=out,
                    dtype=np.float32)
        if self.std_bgr is not None:
            out /= np.asarray(self.std_bgr, np.float32)[order, None, None]
        return out

    def batch(self, images_bgr) -> np.ndarray:
        return np.stack([self.apply(im) for im in images_bgr])

    def to_dict(self) -> dict:
        return {
            "input_format": "BGR uint8 HWC",
            "mean_bgr": list(self.mean_bgr),
            "std_bgr": None if self.std_bgr is None else list(self.std_bgr),
            "channel_order": self.channel_order,
            "layout": self.layout,
            "input_size": None if self.input_size is None else list(self.input_size),
            "interpolation": self.interpolation,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        try:
            return cls(
                mean_bgr=tuple(float(v) for v in d["mean_bgr"]),
                std_bgr=None if d.get("std_bgr") is None else tuple(float(v) for v in d["std_bgr"]),
                channel_order=d.get("channel_order", "RGB"),
                layout=d.get("layout", "NCHW"),
                input_size=None if d.get("input_size") is None else tuple(int(v) for v in d["input_size"]),
                interpolation=d.get("interpolation", "bilinear"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EdgesegError(f"malformed preprocessing contract in metadata: {exc}") from None
