"""`edgeseg bench ARTIFACT --source VIDEO`: each timed row also runs the video end to end, so the
table shows the frame rate an application reaches next to the model's own."""

from __future__ import annotations

import logging

from edgeseg.errors import EdgesegError
from edgeseg.video import RunOptions, run_video
from edgeseg.video.sources import open_source

log = logging.getLogger(__name__)
KEPT = ("source", "frames_out", "dropped", "unreadable", "wall_s", "e2e_fps", "latency_p50_ms", "latency_p99_ms",
        "stages")


def check_source(source: str) -> None:
    """Refuse a bad --source before any timing (opens it and reads one frame)."""
    open_source(source).close()


def add_end_to_end(result: dict, source: str, runner_options: dict, max_frames: int | None = None) -> None:
    """Put `video` (end-to-end FPS, latency, stages, and e2e/model against the row's own FPS) on every
    row that ran; a row whose video run fails keeps its timings and says why."""
    options = RunOptions(max_frames=max_frames, model_seconds=0)
    for row in result["rows"]:
        if row.get("status") != "ok":
            continue
        try:
            summary = run_video(row["path"], source, options, backend=row.get("backend"), runner_options=runner_options)
        except EdgesegError as exc:
            row["video"] = {"source": source, "error": str(exc)}
            log.warning("%s: end-to-end run failed: %s", row["path"], exc)
            continue
        video = {k: summary[k] for k in KEPT}
        model_fps = (row.get("end_to_end") or {}).get("fps")
        video["e2e_over_model"] = round(video["e2e_fps"] / model_fps, 4) if video["e2e_fps"] and model_fps else None
        row["video"] = video
    result["source"] = source
