"""Where results go: output paths checked before the work, OS errors told in one line.

Checked up front so an unwritable `-o` or `--json` fails in the first second, not after
minutes of export or timing; `os_reason` turns what the OS says while writing (disk full,
read-only file system) into the words a user acts on.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from edgeseg.errors import EdgesegError

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "already exists",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "file name too long",
    errno.EIO: "input/output error",
}


def os_reason(exc: BaseException) -> str:
    """The cause of an OSError (or of any error whose chain or text holds one) in a few words."""
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _REASONS:
            return _REASONS[seen.errno]
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "No space left on device" in text or "ENOSPC" in text:
        return _REASONS[errno.ENOSPC]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def is_disk_full(exc: BaseException) -> bool:
    return os_reason(exc) == _REASONS[errno.ENOSPC]


def describe_os_error(exc: OSError, path=None) -> str:
    """'PATH: cause' for an OSError, naming the user's path rather than a temporary one."""
    name = path or exc.filename
    reason = os_reason(exc)
    return f"{name}: {reason}" if name else reason


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _writable(folder: Path) -> str | None:
    """Why files cannot be created in an existing folder, or None."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except OSError:
        pass
    if not os.access(folder, os.W_OK | os.X_OK):
        return "permission denied"
    try:  # root passes os.access everywhere; only creating a file tells (e.g. /proc, /sys)
        fd, probe = tempfile.mkstemp(prefix=".edgeseg-probe.", dir=folder)
    except OSError as exc:
        return os_reason(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def _folder_problem(path: Path) -> str | None:
    """Why a folder cannot be created or written to, or None."""
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder"
    base = path if path.exists() else _nearest_existing(path)
    if not base.is_dir():
        return f"cannot create it, {base} is a file, not a folder"
    why = _writable(base)
    return f"cannot write in {base} ({why})" if why else None


def require_utf8(path, option: str) -> None:
    """A path that is not valid UTF-8 (bytes the OS allows, decoded by Python as surrogates) cannot be
    handed to ONNX Runtime, PyTorch or OpenCV, whose C++ bindings take UTF-8 strings: refuse it in one line."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise EdgesegError(f"{option} {shown}: the name is not valid UTF-8, which ONNX Runtime, PyTorch and OpenCV "
                           "cannot open; use a UTF-8 name") from None


def check_out_dir(path, option: str = "-o") -> Path:
    """Refuse an output folder that cannot be created or written, before any work starts."""
    path = Path(path)
    require_utf8(path, option)
    why = _folder_problem(path)
    if why:
        raise EdgesegError(f"{option} {path}: {why}")
    return path


def check_out_file(path, option: str) -> Path | None:
    """Refuse an output file that is a folder or whose folder cannot be written, before any work."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        raise EdgesegError(f"{option} {path}: is a folder; give a file name")
    why = _folder_problem(path.absolute().parent)
    if why:
        raise EdgesegError(f"{option} {path}: {why}")
    return path
