"""Keep a compile cache under a size cap: the least recently used files go first.

OpenVINO writes one compiled blob per model and device (tens of MB for S²-FPN) into
`~/.cache/edgeseg/openvino` and never removes any; left alone the folder grows with every
model and every edgeseg version. After each compile the cache is trimmed to
`EDGESEG_CACHE_MAX_GB` (default 2 GB), oldest use first (a file's last access or write,
whichever is later), never touching what was used in the last minute.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from edgeseg.errors import EdgesegError

log = logging.getLogger(__name__)
DEFAULT_MAX_GB = 2.0
RECENT_S = 60.0  # files used this recently are never removed (the model just compiled, a parallel run's)


def max_bytes() -> int:
    raw = os.environ.get("EDGESEG_CACHE_MAX_GB")
    try:
        gb = float(raw) if raw else DEFAULT_MAX_GB
    except ValueError:
        raise EdgesegError(f"EDGESEG_CACHE_MAX_GB must be a number of GB, got {raw!r}") from None
    if gb < 0:
        raise EdgesegError(f"EDGESEG_CACHE_MAX_GB must be >= 0, got {raw!r}")
    return int(gb * 1e9)


def trim(folder, cap: int | None = None) -> list[Path]:
    """Remove the least recently used files under `folder` until it holds at most `cap` bytes."""
    cap = max_bytes() if cap is None else cap
    files = []
    for path in Path(folder).rglob("*"):
        with contextlib.suppress(OSError):
            st = path.lstat()
            if path.is_file() and not path.is_symlink():
                files.append((max(st.st_atime, st.st_mtime), st.st_size, path))
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
