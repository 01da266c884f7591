"""What travels to workers: files as bytes, written back to a private folder on the worker.

Workers need not share a filesystem with the head: artifacts (with their sidecar) and dataset
images and labels (still encoded, as on disk) go through Ray's object store, and the worker
reads them with the same readers a local run uses, so every pixel is decoded the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from edgeseg.artifacts import sidecar_path
from edgeseg.data.datasets import Sample, SegDataset


@dataclass(frozen=True)
class PackedFile:
    name: str
    data: bytes
    sidecar: bytes | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def write(self, folder: Path) -> Path:
        """Write the file (and sidecar) into `folder`, skipping it when the same bytes are there."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.name
        if not (path.exists() and path.stat().st_size == len(self.data) and
                hashlib.sha256(path.read_bytes()).hexdigest() == self.sha256):
            _write_atomic(path, self.data)
        if self.sidecar is not None:
            _write_atomic(sidecar_path(path), self.sidecar)
        return path


def _write_atomic(path: Path, data: bytes) -> None:
    """Write under a unique name, then rename: a concurrent reader sees the old file or the new one."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pack_file(path) -> PackedFile:
    path = Path(path)
    side = sidecar_path(path)
    return PackedFile(path.name, path.read_bytes(), side.read_bytes() if side.exists() else None)


@dataclass(frozen=True)
class PackedSample:
    name: str
    image: PackedFile
    label: PackedFile | None


def pack_samples(samples) -> list[PackedSample]:
    """Dataset samples with the encoded bytes of their image and label files."""
    return [PackedSample(s.name, pack_file(s.image), pack_file(s.label) if s.label else None) for s in samples]


def unpack_dataset(packed: list[PackedSample], info, split: str, lut, folder: Path):
    """A SegDataset over the samples written under `folder` (index-prefixed: names may repeat)."""
    samples = []
    for i, p in enumerate(packed):
        where = folder / f"{i:06d}"
        image = PackedFile(p.image.name, p.image.data).write(where / "image")
        label = PackedFile(p.label.name, p.label.data).write(where / "label") if p.label else None
        samples.append(Sample(image, label, p.name))
    return SegDataset(info, samples, split, lut)
