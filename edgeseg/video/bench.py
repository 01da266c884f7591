"""`edgeseg bench ARTIFACT --source VIDEO`: each timed row also runs the video end to end, so the
table shows the frame rate an application reaches next to the model's own in the same mode: the
row's FPS is synchronous (one `infer` at a time); the pipeline keeps `requests` in flight, so
e2e/model divides by the model's asynchronous throughput with that many requests, timed on the
same runner right after the video. With `--cpp`, edgeseg-cpp runs the same video on each ONNX model
and IR, in a row of its own beside Python's."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from edgeseg.errors import EdgesegError, OptionError
from edgeseg.errors import field as f
from edgeseg.runtime.choice import RunnerRequest
from edgeseg.video import RunOptions, run_video
from edgeseg.video.cpp import RUNTIME, check_program, run_cpp
from edgeseg.video.sources import open_source

log = logging.getLogger(__name__)
KEPT = ("source", "frames_out", "dropped", "unreadable", "wall_s", "e2e_fps", "e2e_mode", "requests", "model_fps",
        "model_mode", "e2e_over_model", "model", "latency_p50_ms", "latency_p99_ms", "stages")
MODEL_SECONDS = 2.0  # model-only timing on the video's runner: half sync, half async
CPP_SUFFIXES = (".onnx", ".xml")  # what edgeseg-cpp runs on OpenVINO


def check_source(source: str) -> None:
    """Refuse a bad --source before any timing (opens it and reads one frame)."""
    open_source(source).close()


def add_end_to_end(result: dict, source: str, request: RunnerRequest, max_frames: int | None = None,
                   model_seconds: float = MODEL_SECONDS) -> None:
    """Put `video` (end-to-end FPS, latency, stages, model-only sync and async figures, and e2e/model
    against the async one) on every row that ran; a row whose video run fails keeps its timings
    and says why."""
    options = RunOptions(max_frames=max_frames, model_seconds=model_seconds)
    for row in result["rows"]:
        if row.get("status") != "ok":
            continue
        try:
            summary = run_video(row["path"], source, options,
                                request=replace(request, backend=row.get("backend"), class_map=True))
        except EdgesegError as exc:
            row["video"] = {"source": source, "error": str(exc)}
            log.warning("%s: end-to-end run failed: %s", row["path"], exc)
            continue
        row["video"] = {k: summary[k] for k in KEPT}
    result["source"] = source


def check_cpp(program, artifacts: list[str], source: str | None) -> None:
    """Refuse edgeseg-cpp rows before any timing: without a video file as the source, with no program there, or with
    no artifact it runs."""
    if not source:
        raise OptionError(f"{f('cpp')} needs {f('source')} VIDEO: it runs edgeseg-cpp on that video")
    if not Path(source).is_file():
        raise OptionError(f"{f('cpp')}: edgeseg-cpp reads video files; {source} is not one (a folder, camera or stream?)")
    check_program(program)
    if not any(Path(a).suffix.lower() in CPP_SUFFIXES for a in artifacts):
        raise OptionError(f"{f('cpp')}: edgeseg-cpp runs ONNX models and OpenVINO IRs (.onnx, .xml); none of the "
                           "artifacts is one")


def add_cpp_rows(result: dict, program, source: str, threads: int | None = None,
                 model_seconds: float = MODEL_SECONDS) -> None:
    """After each timed ONNX/IR row, a row (runtime RUNTIME) of edgeseg-cpp running the same video: its
    end-to-end figures in `video`, its own model-only synchronous timing as the row's latency. A run
    that fails is a failed row saying why."""
    rows = []
    for row in result["rows"]:
        rows.append(row)
        if row.get("status") != "ok" or Path(row["path"]).suffix.lower() not in CPP_SUFFIXES:
            continue
        cpp = {"path": row["path"], "status": "ok", "reason": None, "backend": RUNTIME,
               "precision": row.get("precision"), "input": row.get("input"), "cpu_threads": threads}
        try:
            summary = run_cpp(program, row["path"], source, threads=threads, model_seconds=model_seconds)
        except EdgesegError as exc:
            cpp.update(status="failed", reason=str(exc))
            log.warning("%s: edgeseg-cpp run failed: %s", row["path"], exc)
        else:
            sync = (summary.get("model") or {}).get("sync")
            cpp.update(description=f"edgeseg-cpp {summary['backend']}", video={k: summary[k] for k in KEPT})
            if sync:
                cpp["end_to_end"] = {k: sync[k] for k in ("count", "mean_ms", "median_ms", "p99_ms", "fps")}
        rows.append(cpp)
    result["rows"] = rows
    result["cpp"] = {"program": str(program), "runtime": RUNTIME}
