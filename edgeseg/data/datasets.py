"""Evaluation and calibration datasets: CamVid (SegNet layout), Cityscapes, list files, folders.

A dataset is a list of samples (image path, label path or None) plus its `DatasetInfo`;
images are read lazily, one at a time, so nothing large is held in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeseg.data.contract import DatasetInfo, _table
from edgeseg.data.images import list_images, read_image, read_label
from edgeseg.data.listfile import read_lines
from edgeseg.errors import EdgesegError, OptionError, field

LAYOUTS = ("camvid", "cityscapes", "folder")  # how a dataset lies on disk (the --dataset flag)


@dataclass(frozen=True)
class Sample:
    image: Path
    label: Path | None
    name: str


class SegDataset(Sequence):
    """A sequence of samples plus the `DatasetInfo` their labels follow."""

    def __init__(self, info: DatasetInfo, samples: list[Sample], split: str, lut: np.ndarray | None = None):
        if not samples:
            raise EdgesegError(f"split {split!r} holds no images")
        self.info, self.samples, self.split, self.lut = info, samples, split, lut

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    def load(self, sample: Sample) -> tuple[np.ndarray, np.ndarray | None]:
        """(BGR image, label map or None), with the label's values checked against the classes."""
        image = read_image(sample.image)
        if sample.label is None:
            return image, None
        label = read_label(sample.label, self.lut)
        bad = (label >= self.info.num_classes) & (label != self.info.ignore_index)
        if bad.any():
            values = sorted(set(np.unique(label[bad]).tolist()))[:5]
            raise EdgesegError(f"label map {sample.label} has values {values} outside the {self.info.num_classes} "
                               f"classes of {self.info.name} (ignore index {self.info.ignore_index})")
        if label.shape != image.shape[:2]:
            raise EdgesegError(f"label map {sample.label} is {label.shape[1]}x{label.shape[0]}, its image "
                               f"{image.shape[1]}x{image.shape[0]}")
        return image, label


def read_list(path: Path, root: Path) -> list[Sample]:
    """The official list format: `image label` per line (label optional), relative to `root`."""
    samples = []
    for n, line in enumerate(read_lines(path, "split list"), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) > 2:
            raise EdgesegError(f"{path}:{n}: expected 'image label', got {line.strip()!r}")
        image = root / parts[0]
        label = root / parts[1] if len(parts) == 2 else None
        if not image.exists():
            raise EdgesegError(f"{path}:{n}: image {image} does not exist")
        if label is not None and not label.exists():
            raise EdgesegError(f"{path}:{n}: image {image.name} has no label ({label} does not exist)")
        samples.append(Sample(image, label, image.name))
    return samples


def _paired(images: list[Path], label_of) -> list[Sample]:
    """Each image with its label file (`label_of(image)`), which must exist."""
    samples = []
    for img in images:
        label = label_of(img)
        if not label.exists():
            raise EdgesegError(f"image {img} has no label ({label} does not exist)")
        samples.append(Sample(img, label, img.name))
    return samples


def _camvid(root: Path, split: str) -> list[Sample]:
    folder = root / split
    if not folder.is_dir():
        raise EdgesegError(f"CamVid split folder {folder} does not exist (SegNet layout: {split}/ and {split}annot/)")
    return _paired(list_images(folder), lambda p: root / f"{split}annot" / p.name)


def _cityscapes(root: Path, split: str) -> tuple[list[Sample], np.ndarray | None]:
    images = sorted((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png"))
    if not images:
        raise EdgesegError(f"no Cityscapes images under {root / 'leftImg8bit' / split}/<city>/*_leftImg8bit.png")
    gt = root / "gtFine" / split

    def label(kind: str):
        return lambda p: gt / p.parent.name / f"{p.name[: -len('_leftImg8bit.png')]}_gtFine_{kind}.png"

    if label("labelTrainIds")(images[0]).exists():
        return _paired(images, label("labelTrainIds")), None
    return _paired(images, label("labelIds")), cityscapes_lut()


def _list_lut(samples: list[Sample], list_file: Path) -> np.ndarray | None:
    """The label table of a Cityscapes list: labelIds need one, labelTrainIds none; a mix is refused
    (one table for both would turn half the labels into wrong classes)."""
    ids = [s for s in samples if s.label and s.label.name.endswith("_labelIds.png")]
    train = [s for s in samples if s.label and s.label.name.endswith("_labelTrainIds.png")]
    if ids and train:
        raise EdgesegError(f"list file {list_file} mixes _labelIds.png ({ids[0].label.name}) and _labelTrainIds.png "
                           f"({train[0].label.name}) labels: list one kind")
    return cityscapes_lut() if ids else None


def cityscapes_lut() -> np.ndarray:
    """256-entry table: Cityscapes label id -> train id (255 for ignored ids)."""
    lut = np.full(256, 255, dtype=np.uint8)
    for label_id, train_id in _table()["cityscapes"]["label_id_to_train_id"].items():
        lut[int(label_id)] = train_id
    return lut


def _folder(root: Path) -> list[Sample]:
    images_dir, labels_dir = root / "images", root / "labels"
    if not images_dir.is_dir():
        raise EdgesegError(f"folder dataset needs {images_dir}/ (and labels/ with label maps of the same stem)")
    labels = {p.stem: p for p in list_images(labels_dir)} if labels_dir.is_dir() else {}
    samples = []
    for img in list_images(images_dir):
        if labels_dir.is_dir() and img.stem not in labels:
            raise EdgesegError(f"image {img} has no label in {labels_dir} (matched by file stem)")
        samples.append(Sample(img, labels.get(img.stem), img.name))
    return samples


def split_root(text: str) -> tuple[str, str | None]:
    """ROOT[:SPLIT] (or a list file) -> (root or list file, split or None): the one reader of that
    syntax. A path that exists is taken whole, so a ':' in a folder's name is not a split."""
    if not text:
        raise EdgesegError("a dataset must be given as ROOT[:SPLIT] or a list file, got an empty value")
    if Path(text).exists():
        return text, None
    root, sep, split = text.rpartition(":")
    return (root, split or None) if sep and root else (text, None)


def val_split(val: str) -> tuple[Path, str]:
    """A scored dataset as given (`--val ROOT[:SPLIT]` or a list file) -> (root, split) for
    `open_dataset`: a list file is its own split, its folder the root; a root alone means its `val`."""
    root, split = split_root(val)
    if Path(root).is_file():
        return Path(root).parent, root
    return Path(root), split or "val"


def open_dataset(root, layout: str = "camvid", split: str = "val", limit: int | None = None,
                 info: DatasetInfo | None = None) -> SegDataset:
    """The samples of one split, checked for pairing; `limit` keeps the first N.

    `split` is a split name (camvid: `<split>/` + `<split>annot/`; cityscapes: `leftImg8bit/<split>/`
    + `gtFine/<split>/`), or a list file of `image label` lines (a path, or a name relative to
    `root`). The folder layout ignores the split name: `root/images/` and, optionally,
    `root/labels/` paired by file stem.
    """
    root = Path(root)
    if limit is not None and limit < 1:
        raise OptionError(f"{field('limit')} must be at least 1, got {limit}")
    if not root.is_dir():
        raise EdgesegError(f"dataset root {root} does not exist or is not a folder")
    if layout not in LAYOUTS:
        raise EdgesegError(f"unknown dataset {layout!r}; choose one of {', '.join(LAYOUTS)}")
    info = info or (DatasetInfo.named(layout) if layout != "folder" else None)
    if info is None:
        raise OptionError("a folder dataset needs its classes: take them from the artifact (or use "
                          f"{field('dataset')} camvid|cityscapes)")
    lut = None
    list_file = Path(split) if Path(split).is_file() else root / split
    if split.endswith(".txt") or list_file.is_file():
        if not list_file.is_file():
            raise EdgesegError(f"list file {split} not found (looked at {list_file})")
        samples = read_list(list_file, root)
        if layout == "cityscapes":
            lut = _list_lut(samples, list_file)
    elif layout == "camvid":
        samples = _camvid(root, split)
    elif layout == "cityscapes":
        samples, lut = _cityscapes(root, split)
    else:
        samples = _folder(root)
    if not samples:
        raise EdgesegError(f"split {split!r} of the {layout} dataset at {root} holds no images")
    return SegDataset(info, samples[:limit] if limit else samples, split, lut)
