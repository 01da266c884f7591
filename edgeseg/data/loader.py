"""Read and preprocess ahead of inference in a background thread, so runners never wait on disk."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator

_DONE = object()


def prefetch(items: Iterable, work: Callable, depth: int = 4) -> Iterator:
    """Yield `work(item)` for each item, computed up to `depth` items ahead in a thread.

    An exception raised by `work` is re-raised in the consumer, at the item that caused it.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def producer():
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((True, work(item)))
        except BaseException as exc:  # handed to the consumer
            q.put((False, exc))
        finally:
            q.put((True, _DONE))

    thread = threading.Thread(target=producer, daemon=True, name="edgeseg-prefetch")
    thread.start()
    try:
        while True:
            ok, value = q.get()
            if not ok:
                raise value
            if value is _DONE:
                return
            yield value
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
