"""The work directory: temporary files that name their owner, a sweep of dead owners' files,
and one writer at a time.

Temporary files are `.{name}.edgeseg-{pid}-{token}.tmp` (atomic writes) and
`.scratch.edgeseg-{pid}-{token}{suffix}` (verification candidates), with one of a few fixed
suffixes. A process killed with SIGKILL cannot remove its own; the pid in the name lets the next
run in that directory see that the owner is gone and remove them. The sweep removes only names of
exactly that form (a user's `.notes.1234.0123456789ab.txt` is not ours and stays). They are
created with mode 0666 minus the umask, like any other file (mkstemp's 0600 would survive the
rename into every artifact).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import stat
from pathlib import Path

from edgeseg.errors import EdgesegError
from edgeseg.filesystem import describe_os_error

log = logging.getLogger(__name__)

LOCK_NAME = ".edgeseg.lock"
# the only suffixes edgeseg gives its temporaries (+ '.json': a candidate's sidecar; '.bin': the
# weights OpenVINO writes beside a candidate IR's '.xml')
SUFFIXES = ("", ".tmp", ".onnx", ".engine", ".xml", ".pt")
_OWNED = re.compile(r"^\..+\.edgeseg-([1-9]\d{0,9})-[0-9a-f]{12}(?:\.tmp|\.onnx|\.engine|\.xml|\.bin|\.pt)?(?:\.json)?$")


def new_temp(directory, prefix: str, suffix: str = "") -> Path:
    """Create an empty file `{prefix}.edgeseg-{pid}-{token}{suffix}` in `directory` (umask applies)."""
    if suffix not in SUFFIXES or not prefix.startswith("."):
        raise ValueError(f"a temporary is '.NAME' + one of {SUFFIXES}, not {prefix!r} + {suffix!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        path = directory / f"{prefix}.edgeseg-{os.getpid()}-{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue
    raise EdgesegError(f"{directory}: cannot create a temporary file")


def owner_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_stale(directory) -> list[Path]:
    """Remove our temporaries (regular files named as new_temp names them) whose owner is gone."""
    directory = Path(directory)
    removed = []
    if not directory.is_dir():
        return removed
    for path in directory.iterdir():
        m = _OWNED.match(path.name)
        if not m or not _regular(path):
            continue
        if not owner_alive(int(m.group(1))):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) left by killed runs in %s", len(removed), directory)
    return removed


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_lock(path: Path) -> int:
    """Open (create) the lock file itself: never through a symlink, never a FIFO, device or a
    hard link to some other file, any of which would make the lock truncate or block on it."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if os.path.islink(path):
            raise EdgesegError(f"{path} is a symbolic link; edgeseg's lock file must be a plain file "
                               "(remove it, or use another -o)") from None
        raise EdgesegError(f"cannot lock {describe_os_error(exc, path)}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
        os.close(fd)
        kind = "has other hard links" if stat.S_ISREG(st.st_mode) else "is not a regular file"
        raise EdgesegError(f"{path} {kind}; edgeseg's lock file must be its own plain file "
                           "(remove it, or use another -o)")
    return fd


@contextlib.contextmanager
def locked(directory, what: str = "edgeseg export"):
    """Hold `directory`'s lock for the block; refuse in one line when another process holds it.

    The lock file is removed on release; after taking the lock we check that the file is still
    the one at the path, so a process that opened it just before the unlink cannot also win.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock
        yield
        return
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    while True:
        fd = _open_lock(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise EdgesegError(f"another {what} is writing to {directory} (pid {holder}); "
                               "wait for it to finish or use another -o") from None
        try:
            mine, there = os.fstat(fd), os.lstat(path)
            same = (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        sweep_stale(directory)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)
