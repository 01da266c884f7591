"""A bounded queue between two pipeline stages that never hangs a run whose other stages failed.

`drop_oldest` is the live-source policy: when the consumer falls behind, the oldest waiting
frame is thrown away (and counted) instead of latency growing without bound.
"""

from __future__ import annotations

import queue
import threading

END = object()  # put once by a producer when it is done


class Aborted(Exception):
    """Another stage failed or the run was cancelled: stop without finishing."""


class Channel:
    def __init__(self, size: int, abort: threading.Event, drop_oldest: bool = False):
        self._q: queue.Queue = queue.Queue(maxsize=max(1, size))
        self._abort, self.drop_oldest = abort, drop_oldest
        self.dropped: list = []  # items thrown away by drop_oldest, oldest first

    def put(self, item) -> None:
        if self.drop_oldest and item is not END:
            while True:
                try:
                    self._q.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        self.dropped.append(self._q.get_nowait())
                    except queue.Empty:
                        pass
        while not self._abort.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise Aborted()

    def get(self):
        while not self._abort.is_set():
            try:
                return self._q.get(timeout=0.1)
            except queue.Empty:
                continue
        raise Aborted()

    def __iter__(self):
        while (item := self.get()) is not END:
            yield item
