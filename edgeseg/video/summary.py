"""What a video run reports: end-to-end FPS next to the model-only FPS of the same artifact in the
same mode, and where the difference went, stage by stage (the question "trtexec says 200, my app
gets 60"). The pipeline keeps `requests` inferences in flight; model-only is timed both
synchronously (latency) and asynchronously with that many requests (throughput, the figure the
end-to-end rate is compared with; model_time.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STAGES = ("decode", "preprocess", "infer", "postprocess", "write")


def _stats(ms: list[float]) -> dict | None:
    if not ms:
        return None
    a = np.asarray(ms, dtype=np.float64)
    return {"mean_ms": round(float(a.mean()), 3), "p99_ms": round(float(np.percentile(a, 99)), 3)}


@dataclass
class RunSummary:
    source: str
    artifact: str
    backend: str
    frames_in: int = 0  # decoded (or failed to decode) and not dropped
    frames_out: int = 0  # through every stage and written
    unreadable: int = 0  # frames the decoder could not read: counted, skipped
    dropped: int = 0  # --realtime: oldest frames thrown away to keep latency bounded
    wall_s: float = 0.0  # first frame decoded -> last frame written
    interrupted: bool = False
    live: bool = False  # a camera or stream: a Ctrl-C is how it ends
    stage_ms: dict = field(default_factory=lambda: {s: [] for s in STAGES})
    latency_ms: list = field(default_factory=list)  # capture (decoded) -> output written, per frame
    requests: int = 1  # inferences the pipeline keeps in flight
    model: dict | None = None  # model_time.model_only: {"sync": ..., "async": ...}
    outputs: dict = field(default_factory=dict)

    @property
    def fps(self) -> float | None:
        return self.frames_out / self.wall_s if self.wall_s > 0 and self.frames_out else None

    @property
    def model_fps(self) -> float | None:
        """Model-only throughput in the pipeline's own mode (asynchronous, `requests` in flight)."""
        return ((self.model or {}).get("async") or {}).get("fps")

    def to_dict(self) -> dict:
        lat = np.asarray(self.latency_ms, dtype=np.float64)
        ratio = self.fps / self.model_fps if self.fps and self.model_fps else None
        return {
            "source": self.source, "artifact": self.artifact, "backend": self.backend,
            "frames_in": self.frames_in, "frames_out": self.frames_out, "unreadable": self.unreadable,
            "dropped": self.dropped, "interrupted": self.interrupted, "live": self.live,
            "wall_s": round(self.wall_s, 4),
            "e2e_fps": None if self.fps is None else round(self.fps, 3),
            "e2e_mode": "async", "requests": self.requests,
            "model_fps": self.model_fps, "model_mode": "async" if self.model_fps else None,
            "e2e_over_model": None if ratio is None else round(ratio, 4),
            "stages": {s: _stats(v) for s, v in self.stage_ms.items()},
            "latency_p50_ms": round(float(np.percentile(lat, 50)), 3) if lat.size else None,
            "latency_p99_ms": round(float(np.percentile(lat, 99)), 3) if lat.size else None,
            "model": self.model, "outputs": self.outputs,
        }


def e2e_line(d: dict) -> str:
    """One line: frames, end-to-end FPS with the requests it kept in flight, the model alone with as
    many in flight and the ratio, the model alone one request at a time (latency), capture-to-output
    latency, losses. (cpp/src/summary.cpp prints the same line.)"""
    fps = "-" if d["e2e_fps"] is None else f"{d['e2e_fps']:.1f}"
    line = f"{d['frames_out']} frames in {d['wall_s']:.2f} s: end-to-end {fps} FPS with {d['requests']} in flight"
    model = d.get("model") or {}
    if model.get("async"):
        ratio = f" ({d['e2e_over_model']:.0%} of it)" if d["e2e_over_model"] else ""
        line += f"; model alone {model['async']['fps']:.1f} FPS with {model['async']['requests']} in flight{ratio}"
    if model.get("sync"):
        line += (", " if model.get("async") else "; model alone ") + \
            f"{model['sync']['median_ms']:.1f} ms ({model['sync']['fps']:.1f} FPS) one at a time"
    if d["latency_p50_ms"] is not None:
        line += f"; latency p50 {d['latency_p50_ms']:.1f} ms, p99 {d['latency_p99_ms']:.1f} ms"
    extras = [f"{d[k]} {k}" for k in ("dropped", "unreadable") if d[k]]
    return line + ("; " + ", ".join(extras) if extras else "") + ("; interrupted" if d["interrupted"] else "")


def stage_rows(d: dict) -> list[tuple[str, str, str]]:
    """(stage, mean ms, p99 ms) for the stages that ran, in pipeline order."""
    rows = []
    for name in STAGES:
        s = d["stages"].get(name)
        if s:
            rows.append((name, f"{s['mean_ms']:.2f}", f"{s['p99_ms']:.2f}"))
    return rows
