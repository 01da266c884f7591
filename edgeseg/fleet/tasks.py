"""Running functions on workers: version check, bounded waits, one-line reasons for failures.

A task that raises, a worker that dies, a node that disappears and a task that never returns
all end as (False, reason) for that key; the other keys still get their results.
"""

from __future__ import annotations

import logging
import socket
import time

import edgeseg
from edgeseg.errors import EdgesegError

logger = logging.getLogger(__name__)


def check_version(head_version: str) -> None:
    """Refuse work from a head whose edgeseg differs: results would not be comparable."""
    if head_version != edgeseg.__version__:
        raise EdgesegError(f"edgeseg versions differ: head {head_version}, worker {socket.gethostname()} "
                           f"{edgeseg.__version__}: install the same edgeseg on both")


def reason_of(exc: BaseException) -> str:
    """One line saying why a task failed: the worker's own error when it raised one."""
    cause = getattr(exc, "cause", None)  # RayTaskError carries the exception raised on the worker
    if isinstance(cause, EdgesegError):
        return " ".join(str(cause).split())
    if cause is not None:
        exc = cause
    kind = type(exc).__name__
    if kind in ("WorkerCrashedError", "NodeDiedError", "ActorDiedError", "OutOfMemoryError"):
        text = {"WorkerCrashedError": "the worker process died", "NodeDiedError": "the node left the cluster",
                "ActorDiedError": "the worker process died", "OutOfMemoryError": "the worker ran out of memory"}[kind]
        return f"{text} ({kind})"
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return f"{kind}: {lines[-1].strip()[:300]}" if lines else kind


def gather(ray, pending: dict, timeout: float | None, on_done=None) -> dict:
    """{key: ObjectRef} -> {key: (True, value) | (False, reason)}, waiting at most `timeout` s in all.

    Refs still running at the deadline are cancelled (force-killing their workers) and reported
    as timed out; `on_done(key, ok, value)` is called as each one finishes.
    """
    by_ref = {ref: key for key, ref in pending.items()}
    remaining = list(by_ref)
    results: dict = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    while remaining:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        done, remaining = ray.wait(remaining, num_returns=1, timeout=left)
        for ref in done:
            key = by_ref[ref]
            try:
                results[key] = (True, ray.get(ref))
            except Exception as exc:
                results[key] = (False, reason_of(exc))
                logger.info("%s failed: %s", key, results[key][1])
            if on_done:
                on_done(key, *results[key])
    for ref in remaining:
        ray.cancel(ref, force=True)
        results[by_ref[ref]] = (False, f"timed out after {timeout:g} s")
    return results
