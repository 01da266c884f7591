"""`edgeseg bench ARTIFACT --source VIDEO`: each timed row also runs the video end to end, so the
table shows the frame rate an application reaches next to the model's own in the same mode: the
row's FPS is synchronous (one `infer` at a time); the pipeline keeps `requests` in flight, so
e2e/model divides by the model's asynchronous throughput with that many requests, timed on the
same runner right after the video."""

from __future__ import annotations

import logging

from edgeseg.errors import EdgesegError
from edgeseg.video import RunOptions, run_video
from edgeseg.video.sources import open_source

log = logging.getLogger(__name__)
KEPT = ("source", "frames_out", "dropped", "unreadable", "wall_s", "e2e_fps", "e2e_mode", "requests", "model_fps",
        "model_mode", "e2e_over_model", "model", "latency_p50_ms", "latency_p99_ms", "stages")
MODEL_SECONDS = 2.0  # model-only timing on the video's runner: half sync, half async


def check_source(source: str) -> None:
    """Refuse a bad --source before any timing (opens it and reads one frame)."""
    open_source(source).close()


def add_end_to_end(result: dict, source: str, runner_options: dict, max_frames: int | None = None,
                   model_seconds: float = MODEL_SECONDS) -> None:
    """Put `video` (end-to-end FPS, latency, stages, model-only sync and async figures, and e2e/model
    against the async one) on every row that ran; a row whose video run fails keeps its timings
    and says why."""
    options = RunOptions(max_frames=max_frames, model_seconds=model_seconds)
    for row in result["rows"]:
        if row.get("status") != "ok":
            continue
        try:
            summary = run_video(row["path"], source, options, backend=row.get("backend"), runner_options=runner_options)
        except EdgesegError as exc:
            row["video"] = {"source": source, "error": str(exc)}
            log.warning("%s: end-to-end run failed: %s", row["path"], exc)
            continue
        row["video"] = {k: summary[k] for k in KEPT}
    result["source"] = source
