"""The work directory: temporary files that name their owner, a sweep of dead owners' files,
and one writer at a time.

Temporary files are `.{name}.{pid}.{token}.tmp` (atomic writes) and `.scratch.{pid}.{token}{suffix}`
(verification candidates). A process killed with SIGKILL cannot remove its own; the pid in the
name lets the next run in that directory see that the owner is gone and remove them. They are
created with mode 0666 minus the umask, like any other file (mkstemp's 0600 would survive the
rename into every artifact).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import time
from pathlib import Path

from edgeseg.errors import EdgesegError

log = logging.getLogger(__name__)

LOCK_NAME = ".edgeseg.lock"
# pid-named temporaries; legacy mkstemp names (no pid) are swept only when old
_OWNED = re.compile(r"^\.(?:scratch|.+)\.(\d+)\.[0-9a-f]{12}(?:\.tmp|\..*)?$")
_LEGACY = re.compile(r"^\.(?:scratch\.[A-Za-z0-9_]{8}.*|.+\.[A-Za-z0-9_]{8}\.tmp)$")
LEGACY_AGE_S = 24 * 3600


def new_temp(directory, prefix: str, suffix: str = "") -> Path:
    """Create an empty file `{prefix}.{pid}.{token}{suffix}` in `directory` (umask applies)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        path = directory / f"{prefix}.{os.getpid()}.{secrets.token_hex(6)}{suffix}"
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
    """Remove temporaries whose owner process is gone (and pre-pid ones older than a day)."""
    directory = Path(directory)
    removed = []
    if not directory.is_dir():
        return removed
    now = time.time()
    for path in directory.iterdir():
        name = path.name
        if not name.startswith(".") or not path.is_file() or name == LOCK_NAME:
            continue
        m = _OWNED.match(name)
        if m:
            stale = not owner_alive(int(m.group(1)))
        elif _LEGACY.match(name):
            stale = now - path.stat().st_mtime > LEGACY_AGE_S
        else:
            continue
        if stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) left by killed runs in %s", len(removed), directory)
    return removed


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
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise EdgesegError(f"another {what} is writing to {directory} (pid {holder}); "
                               "wait for it to finish or use another -o") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
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
