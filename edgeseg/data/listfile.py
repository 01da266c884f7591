"""Reading and writing list files (dataset splits, calibration manifests, sample lists).

A list names files, and a file name on Linux is bytes: a list is decoded as UTF-8 with the bytes
that are not UTF-8 kept the way Python keeps them in file names (surrogate escapes), so such a
name in a list opens the very file, and is written back unchanged. Only a regular file is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from edgeseg.errors import EdgesegError


def read_lines(path, what: str = "list file") -> list[str]:
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise EdgesegError(f"{what} {path} is not a regular file")
        data = path.read_bytes()
    except OSError as exc:
        raise EdgesegError(f"cannot read {what} {path} ({exc.strerror or type(exc).__name__})") from None
    if b"\0" in data:
        raise EdgesegError(f"{what} {path} is not a text file (it holds NUL bytes)")
    return data.decode("utf-8", "surrogateescape").removeprefix("\ufeff").splitlines()


def encode_lines(lines) -> bytes:
    """The lines as a list file's bytes (names that are not UTF-8 keep their bytes)."""
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
