"""`edgeseg run`'s pipeline as an iterator: each frame's class map, overlay and timings handed to
the caller instead of a file, for applications (edgeseg.api.Model.stream).

The same VideoRun runs (decode, preprocess, infer, postprocess threads, the artifact's contract),
so the class maps are `run`'s; only its last stage differs: results go into a bounded queue
the caller reads. A caller that stops reading early (a `break`) stops the run and its threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from edgeseg.video.channel import END, Aborted, Channel
from edgeseg.video.pipeline import VideoRun


@dataclass
class FrameResult:
    """One frame: `labels` (H x W class ids at the frame's size), `overlay` (BGR, the frame with the
    palette blended in), `image` (the BGR frame), and what it took (`timings`, milliseconds)."""

    index: int
    name: str
    image: np.ndarray
    labels: np.ndarray
    overlay: np.ndarray
    timings: dict = field(default_factory=dict)  # preprocess/infer/postprocess ms; latency_ms: decoded -> here


class StreamedRun(VideoRun):
    """A VideoRun whose last stage hands results to `results` instead of writing files."""

    def __init__(self, source, runner, options, palette, queue_size: int = 4):
        super().__init__(source, runner, options, palette)
        self.results = Channel(queue_size, self._abort)

    def _write(self, inp, video, masks, progress) -> None:
        s, done = self.summary, 0
        try:
            for frame, labels, shown in inp:
                s.frames_in += 1
                if labels is None:
                    s.unreadable += 1
                    continue
                now = time.perf_counter()
                # Stages keep frames in order and skip unreadable ones: this frame's times are their `done`-th.
                timings = {k: round(s.stage_ms[k][done], 3) for k in ("preprocess", "infer", "postprocess")
                           if done < len(s.stage_ms[k])}
                timings["latency_ms"] = round((now - frame.captured) * 1000.0, 3)
                s.latency_ms.append(timings["latency_ms"])
                self.results.put(FrameResult(frame.index, frame.name, frame.image, labels, shown, timings))
                s.frames_out += 1
                done += 1
                self._last_written = now
        finally:
            self.results.put(END)

    def __iter__(self):
        """Run in a background thread and yield results in order; leaving the loop stops the run."""
        errors: list[BaseException] = []

        def body():
            try:
                self.run()
            except Aborted:
                pass
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                errors.append(exc)
                self._abort.set()

        thread = threading.Thread(target=body, name="edgeseg-stream", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = self.results.get()
                except Aborted:
                    break
                if item is END:
                    break
                yield item
        finally:
            self.stop()
            self._abort.set()  # a caller that left early: every stage stops now
            thread.join()
        if errors:
            raise errors[0]
