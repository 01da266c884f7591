"""Decode, preprocess, infer, postprocess and write as five threads joined by bounded queues.

Each stage is one thread, so frames stay in order; OpenCV, NumPy and the runtimes release the
GIL in their heavy calls, so the stages overlap instead of taking turns. Files lose nothing (a
full queue blocks the stage before it). A live source under `realtime` drops the OLDEST waiting
frame when inference falls behind, so latency stays bounded, and counts what it dropped. A file
run with `realtime` is paced at its own frame rate, as a camera would deliver it.

Frames are fed and read back as `predict` does (the artifact's own contract through `feeder`;
`post.class_map` gives `to_labels`' class map), so the class maps are the same, frame for frame.
A frame larger than `sinks.MAX_DRAW_SIDE` is fed to the model whole, then scaled down to
`draw_size` for its class map, overlay and outputs, so memory and drawing time stay bounded.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from dataclasses import dataclass

from edgeseg.bench.accuracy import feeder
from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.video.channel import END, Aborted, Channel
from edgeseg.video.model_time import model_only, requests_in_flight
from edgeseg.video.post import Painter, class_map
from edgeseg.video.sinks import MaskSink, draw_size, open_video
from edgeseg.video.summary import RunSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    video: str | None = None  # overlay video path (.avi, .mp4, .mkv)
    masks: str | None = None  # folder of class-map PNGs
    realtime: bool = False
    max_frames: int | None = None
    queue_size: int = 4
    alpha: float = 0.5
    model_seconds: float = 2.0  # model-only timing after the run, sync and async halves (0: skip)
    dataset: str | None = None  # palette; default the artifact's

    def __post_init__(self):
        if self.max_frames is not None and self.max_frames < 1:
            raise OptionError(f"{f('max_frames')} must be at least 1, got {self.max_frames}")
        if not 0.0 <= self.alpha <= 1.0:
            raise OptionError(f"{f('alpha')} must be within 0..1, got {self.alpha}")
        if self.queue_size < 1 or not (math.isfinite(self.model_seconds) and self.model_seconds >= 0):
            raise EdgesegError("queue size must be at least 1 and model timing at least 0 s")


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


class VideoRun:
    """One run of a source through an activated runner; `stop()` (Ctrl-C) ends it cleanly."""

    def __init__(self, source, runner, options: RunOptions, palette):
        self.source, self.runner, self.options, self.palette = source, runner, options, palette
        self.feed = feeder(runner)[1]
        self.summary = RunSummary(source.spec, runner.path, runner.description)
        self._stop, self._abort = threading.Event(), threading.Event()
        self._errors: list[BaseException] = []
        self._last_input = None
        drop = options.realtime
        size = 1 if drop else options.queue_size
        self.queues = [Channel(size, self._abort, drop_oldest=drop)] + [Channel(size, self._abort) for _ in range(3)]

    def stop(self) -> None:
        self._stop.set()

    # -- stages ----------------------------------------------------------------------------
    def _decode(self, out: Channel) -> None:
        frames, limit = iter(self.source.frames()), self.options.max_frames
        paced = self.options.realtime and not self.source.live
        start, n = time.perf_counter(), 0
        while not self._stop.is_set() and (limit is None or n < limit):
            if paced:  # a file played as a camera delivers it: one frame per 1/fps
                time.sleep(max(0.0, start + n / self.source.fps - time.perf_counter()))
            t0 = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            self.summary.stage_ms["decode"].append(_ms(t0))
            if n == 0:
                self._first_decoded = time.perf_counter()
            out.put(frame)
            n += 1
        out.put(END)

    def _preprocess(self, inp: Channel, out: Channel) -> None:
        import cv2

        for frame in inp:
            x = None
            if frame.image is not None:
                t0 = time.perf_counter()
                x = self.feed(frame.image)[None]
                h, w = draw_size(frame.image.shape[:2])
                if (h, w) != frame.image.shape[:2]:  # the model had it whole; the rest is drawn smaller
                    frame.image = cv2.resize(frame.image, (w, h), interpolation=cv2.INTER_AREA)
                self.summary.stage_ms["preprocess"].append(_ms(t0))
            out.put((frame, x))
        out.put(END)

    def _infer(self, inp: Channel, out: Channel) -> None:
        pending: collections.deque = collections.deque()
        depth, last_done = requests_in_flight(self.runner), 0.0

        def collect():
            nonlocal last_done
            frame, wait, submitted = pending.popleft()
            result = None
            if wait is not None:
                result = wait()
                done = time.perf_counter()  # requests run one after another: its share starts when the last ended
                self.summary.stage_ms["infer"].append((done - max(submitted, last_done)) * 1000.0)
                last_done = done
            out.put((frame, result))

        for frame, x in inp:
            if x is None:
                pending.append((frame, None, 0.0))
            else:
                self._last_input = x
                t0 = time.perf_counter()
                pending.append((frame, self.runner.submit(x), t0))
            while len(pending) >= depth:
                collect()
        while pending:
            collect()
        out.put(END)

    def _postprocess(self, inp: Channel, out: Channel) -> None:
        want_overlay = self.options.video is not None or self.options.masks is None
        paint = Painter(self.palette, self.options.alpha)
        for frame, result in inp:
            labels = shown = None
            if result is not None:
                t0 = time.perf_counter()
                labels = class_map(result[0], frame.image.shape[:2])
                if want_overlay:
                    shown = paint(frame.image, labels)
                self.summary.stage_ms["postprocess"].append(_ms(t0))
            out.put((frame, labels, shown))
        out.put(END)

    def _write(self, inp: Channel, video, masks, progress) -> None:
        s = self.summary
        for frame, labels, shown in inp:
            s.frames_in += 1
            if labels is None:
                s.unreadable += 1
                log.warning("frame %d%s could not be decoded; skipped", frame.index,
                            f" ({frame.name})" if frame.name else "")
                continue
            t0 = time.perf_counter()
            if video is not None:
                video.write(shown)
            if masks is not None:
                masks.write(frame.index, labels)
            now = time.perf_counter()
            s.stage_ms["write"].append((now - t0) * 1000.0)
            s.latency_ms.append((now - frame.captured) * 1000.0)
            s.frames_out += 1
            self._last_written = now
            if progress:
                progress(1)

    # -- the run ---------------------------------------------------------------------------
    def _guard(self, stage, *args):
        def body():
            try:
                stage(*args)
            except Aborted:
                pass
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self._errors.append(exc)
                self._abort.set()
        return threading.Thread(target=body, name=f"edgeseg-{stage.__name__.strip('_')}", daemon=True)

    def run(self, progress=None) -> RunSummary:
        o, q = self.options, self.queues
        video = open_video(o.video, self.source.fps, draw_size(self.source.size)) if o.video else None
        masks = MaskSink(o.masks) if o.masks else None
        self._first_decoded = self._last_written = None
        threads = [self._guard(self._decode, q[0]), self._guard(self._preprocess, q[0], q[1]),
                   self._guard(self._infer, q[1], q[2]), self._guard(self._postprocess, q[2], q[3]),
                   self._guard(self._write, q[3], video, masks, progress)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.1)
        except BaseException:  # a second Ctrl-C: stop every stage now, still close the files
            self._abort.set()
            raise
        finally:
            if self._errors:
                self._abort.set()
            for t in threads:
                t.join()
            if video is not None:  # a failed run leaves no video; a stopped one keeps what it wrote
                video.close(publish=not self._errors)
            self.source.close()
        if self._errors:
            raise self._errors[0]
        return self._finish(video, masks)

    def _finish(self, video, masks) -> RunSummary:
        s = self.summary
        s.wall_s = self._last_written - self._first_decoded if self._last_written else 0.0
        s.dropped = len(self.queues[0].dropped)
        s.interrupted, s.live = self._stop.is_set(), self.source.live
        s.outputs = {"video": str(video.path) if video else None, "masks": str(masks.folder) if masks else None}
        s.requests = requests_in_flight(self.runner)
        if self.options.model_seconds and self._last_input is not None:
            s.model = model_only(self.runner, self._last_input, self.options.model_seconds)
        return s
