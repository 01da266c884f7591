"""Calibration sets: deterministic manifests drawn evenly across a split, and their loading.

A manifest is a text file: `#` header lines (source, seed, count, sha256 of the images' bytes
in order) and one image path per line, relative to the dataset root.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from edgeseg.artifacts import atomic_path
from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import open_dataset
from edgeseg.data.images import IMAGE_SUFFIXES, file_bytes, list_images
from edgeseg.data.listfile import encode_lines, read_lines
from edgeseg.errors import EdgesegError, OptionError, field

MAGIC = "# edgeseg calibration set v1"
ADVISED = 500  # NVIDIA's advice
WARN_BELOW = 300


@dataclass(frozen=True)
class CalibSet:
    paths: tuple[Path, ...]
    sha256: str
    source: str

    def __len__(self) -> int:
        return len(self.paths)

    def warning(self, gpu: bool = False) -> str | None:
        """A small set's warning; NVIDIA's advice (for TensorRT) only when the target is a GPU."""
        if len(self) < WARN_BELOW:
            return (f"calibration set has {len(self)} images; fewer than {WARN_BELOW} may give poor ranges"
                    + (f" (NVIDIA advises ≥ {ADVISED} for TensorRT)" if gpu else ""))
        return None


def content_hash(paths) -> str:
    return content_hashes(paths, len(paths))[0]


def content_hashes(paths, first: int) -> tuple[str, str]:
    """(sha256 of the first `first` images' bytes in order, sha256 of all of them), in one read."""
    head, whole = hashlib.sha256(), hashlib.sha256()
    for i, p in enumerate(paths):
        data = file_bytes(p, "calibration image")  # a regular file only: a FIFO would block
        whole.update(data)
        if i < first:
            head.update(data)
    return head.hexdigest(), whole.hexdigest()


def _group(path: Path, layout: str) -> str:
    """Cityscapes: the city; CamVid: the sequence (file name prefix); otherwise one group."""
    if layout == "cityscapes":
        return path.parent.name
    if layout == "camvid":
        return path.name.split("_")[0]
    return ""


def draw_even(paths: list[Path], layout: str, n: int, seed: int) -> list[Path]:
    """Round-robin over groups (each shuffled with `seed`), so every city/sequence is represented."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in sorted(paths):
        groups[_group(p, layout)].append(p)
    rng = random.Random(seed)
    queues = []
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        queues.append(members)
    picked: list[Path] = []
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop())
    return picked


def make_manifest(root, layout: str, split: str, n: int, seed: int, out) -> CalibSet:
    root = Path(root).resolve()
    if n < 1:
        raise EdgesegError("-n must be at least 1")
    ds = open_dataset(root, layout, split, info=None if layout != "folder" else _any_info())
    picked = draw_even([s.image for s in ds.samples], layout, n, seed)
    digest = content_hash(picked)
    # relative to the root as listed (a symlinked image stays under it; `..` is kept lexical)
    rel = [Path(os.path.relpath(os.path.abspath(p), root)).as_posix() for p in picked]
    odd = next((r for r in rel if "\n" in r or "\r" in r or r != r.strip()), None)
    if odd is not None:  # one path per line, taken whole: spaces inside a name are fine, these are not
        raise EdgesegError(f"image {odd!r}: a name with a line break or edge spaces cannot go in a manifest; rename it")
    header = [MAGIC, f"# source: {layout} {split} (root given at creation: {root.name}/)", f"# seed: {seed}",
              f"# count: {len(rel)}", f"# sha256: {digest}"]
    with atomic_path(out) as tmp:
        tmp.write_bytes(encode_lines(header + rel))
    return CalibSet(tuple(picked), digest, str(out))


def _any_info():
    return DatasetInfo.generic(1)


def load_calibset(source, data_root=None, limit: int | None = None) -> CalibSet:
    """A manifest, an official list file (`image label`: only the image is used), or a folder."""
    src = Path(source)
    if src.is_dir():
        paths = list_images(src)
        if not paths:
            raise EdgesegError(f"calibration folder {src} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    elif src.is_file():
        paths = _read_list(src, Path(data_root) if data_root else src.parent)
    else:
        raise OptionError(f"{field('calib')} {source}: no such file or folder")
    used = paths[:limit] if limit else paths
    expected = _header_hash(src) if src.is_file() else None
    # The manifest's hash covers every image it lists: with a limit the whole set is still
    # read once and checked, so a changed image is caught whichever subset is used.
    digest, whole = content_hashes(paths if expected else used, len(used))
    if expected and expected != whole:
        raise EdgesegError(f"{src}: the images changed since the manifest was made (sha256 differs); remake it")
    return CalibSet(tuple(used), digest, str(src))


def _read_list(path: Path, root: Path) -> list[Path]:
    """A manifest holds one path per line, taken whole (names may hold spaces); an official list
    file holds `image label` separated by white space."""
    paths, missing = [], []
    lines = read_lines(path, "calibration list")
    manifest = bool(lines) and lines[0] == MAGIC
    for line in lines:
        parts = [line] if manifest and line.strip() else line.split()
        if not parts or parts[0].startswith("#"):
            continue
        p = root / parts[0]
        (paths if p.exists() else missing).append(p)
    if missing:
        raise OptionError(f"{path}: {len(missing)} listed images do not exist (first: {missing[0]}); "
                          f"pass {field('calib_data')} ROOT if the paths are relative to a dataset root")
    if not paths:
        raise EdgesegError(f"{path}: lists no images")
    return paths


def _header_hash(path: Path) -> str | None:
    lines = read_lines(path, "calibration list")
    if not lines or lines[0] != MAGIC:
        return None
    for line in lines:
        if line.startswith("# sha256: "):
            return line.split(": ", 1)[1].strip()
    return None


def refuse_overlap(calib_set: CalibSet, eval_paths) -> None:
    """Calibrating on evaluation images would flatter the INT8 figures."""
    names = {Path(p).resolve() for p in eval_paths}
    shared = [p for p in calib_set.paths if Path(p).resolve() in names]
    if shared:
        raise EdgesegError(f"{len(shared)} calibration images are also in the evaluation split "
                           f"(first: {shared[0]}); calibrate on the train split")
