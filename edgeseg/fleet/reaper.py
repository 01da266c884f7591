"""Stop a private Ray cluster whatever ends its command: `python -m edgeseg.fleet.reaper PARENT TOKEN`.

`--ray local` starts Ray's processes (GCS, raylet, its agents and workers) under the edgeseg
command. `ray.shutdown()` does not stop them all (the agents outlive their raylet), and a
SIGKILL leaves no chance to run it. Every process of the private cluster inherits the
environment variable `MARK=TOKEN` set before Ray starts (and their children, the agents, are
its descendants); this watcher, started first, waits for the command's process to go, then stops
the marked processes (SIGTERM, then SIGKILL). The command stops them itself when it ends.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

MARK = "EDGESEG_RAY_OWNER"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"  # a zombie is gone
    except OSError:
        return False


def marked(token: str) -> list[int]:
    """Processes (other than this one) whose environment holds MARK=token."""
    needle = f"{MARK}={token}".encode() + b"\0"
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        pid = int(env.parent.name)
        if pid == os.getpid():
            continue
        try:
            if needle in env.read_bytes() + b"\0":
                found.append(pid)
        except OSError:
            continue
    return found


def _is_ray(pid: int) -> bool:
    """Still one of Ray's (a listed pid may have ended and been reused by then)."""
    try:
        return b"ray" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def family(token: str) -> list[int]:
    """The marked processes and all their descendants (Ray's agents do not inherit the mark), listed
    while their parents live: once a raylet is gone its agents belong to init and no tree finds them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[-1].split()[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    out, todo = [], marked(token)
    while todo:
        pid = todo.pop()
        if pid not in out and pid != os.getpid():
            out.append(pid)
            todo += children.get(pid, [])
    return out


def reap(pids: list[int], grace_s: float = 3.0) -> None:
    """SIGTERM these processes, then SIGKILL those still there after `grace_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [p for p in pids if _alive(p) and _is_ray(p)]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace_s
        while pids and time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)


def main(argv: list[str]) -> None:
    parent, token = int(argv[0]), argv[1]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    known: set[int] = set()
    while _alive(parent):
        known.update(family(token))  # kept up to date: a raylet may go before its agents, orphaning them
        time.sleep(0.5)
    reap(sorted(known.union(family(token))))


if __name__ == "__main__":
    main(sys.argv[1:])
