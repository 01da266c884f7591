"""Keep a compile cache under a size cap: the least recently used files go first.

OpenVINO writes one compiled blob per model and device (tens of MB for S²-FPN) into
`~/.cache/edgeseg/openvino` and never removes any; left alone the folder grows with every
model and every edgeseg version. After each compile the cache is trimmed to
`EDGESEG_CACHE_MAX_GB` (default 2 GB), oldest use first (a file's last access or write,
whichever is later), never touching what was used in the last minute.

Only what edgeseg wrote is ever removed: OpenVINO's `*.blob` files at the top of the folder and
our graph copies in `graphs/` (ov_graph.py), each a regular file reached without following a
symlink. Anything else a user keeps there (or links there) is left alone and not counted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import stat
import time
from pathlib import Path

from edgeseg.errors import EdgesegError

log = logging.getLogger(__name__)
DEFAULT_MAX_GB = 2.0
RECENT_S = 60.0  # files used this recently are never removed (the model just compiled, a parallel run's)
OURS = {".": (".blob",), "graphs": (".onnx", ".no-int8-activations")}  # sub-folder -> name endings we write


def max_bytes() -> int:
    """EDGESEG_CACHE_MAX_GB in bytes: a finite number >= 0, else one line naming the variable."""
    raw = os.environ.get("EDGESEG_CACHE_MAX_GB")
    if raw is None or not raw.strip():
        return int(DEFAULT_MAX_GB * 1e9)
    try:
        gb = float(raw)
    except ValueError:
        gb = math.nan
    if not math.isfinite(gb) or gb < 0 or gb * 1e9 > 2**62:
        raise EdgesegError(f"EDGESEG_CACHE_MAX_GB must be a finite number of GB >= 0 (e.g. 2), got {raw!r}")
    return int(gb * 1e9)


def _owned(folder: Path) -> list[tuple[float, int, Path]]:
    """(last use, size, path) of the regular files edgeseg wrote under `folder`, no symlink followed."""
    found = []
    for sub, endings in OURS.items():
        where = folder / sub
        with contextlib.suppress(OSError):
            if not stat.S_ISDIR(where.lstat().st_mode):  # a symlinked sub-folder is not ours
                continue
            with os.scandir(where) as entries:
                for entry in entries:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode) and entry.name.endswith(endings):
                        found.append((max(st.st_atime, st.st_mtime), st.st_size, Path(entry.path)))
    return found


def trim(folder, cap: int | None = None) -> list[Path]:
    """Remove the least recently used files edgeseg wrote under `folder` until they hold at most `cap` bytes."""
    cap = max_bytes() if cap is None else cap
    folder = Path(folder)
    with contextlib.suppress(OSError):
        if not stat.S_ISDIR(folder.lstat().st_mode):  # the cache folder itself a symlink: trim nothing
            return []
    files = _owned(folder)
    total = sum(size for _, size, _ in files)
    removed, now = [], time.time()
    for used, size, path in sorted(files, key=lambda f: f[0]):
        if total <= cap:
            break
        if now - used < RECENT_S:
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
            total -= size
    if removed:
        log.info("compile cache %s: removed %d least recently used file(s) to stay under %.1f GB",
                 folder, len(removed), cap / 1e9)
    return removed
