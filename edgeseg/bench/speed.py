"""Timing a runner: warm-up, then timed iterations (or a duration), trtexec-style statistics."""

from __future__ import annotations

import time

import numpy as np

from edgeseg.bench.stats import summarize
from edgeseg.errors import EdgesegError

_DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}


def input_batch(spec, size: tuple[int, int], batch: int, seed: int = 0) -> np.ndarray:
    """A deterministic random batch shaped and typed as the runner declares (dynamic dims from `size`)."""
    rng = np.random.default_rng(seed)
    h, w = size
    if spec.input_layout == "NHWC":
        return rng.integers(0, 256, (batch, h, w, 3), dtype=np.uint8)
    declared = [d if isinstance(d, int) else None for d in spec.input_shape]
    if len(declared) == 4 and declared[2] and declared[3] and (declared[2], declared[3]) != (h, w):
        raise EdgesegError(f"model has a fixed input of {declared[2]}x{declared[3]}; --input-size {h}x{w} does not fit")
    if len(declared) == 4 and declared[0] not in (None, batch):
        raise EdgesegError(f"model has a fixed batch of {declared[0]}; --batch {batch} does not fit")
    return rng.normal(0.0, 50.0, (batch, 3, h, w)).astype(_DTYPES.get(spec.input_dtype, np.float32))


def time_runner(runner, batch: np.ndarray, warmup: int = 10, iters: int | None = 100,
                duration: float | None = None) -> dict:
    """Latency statistics over timed `infer` calls; GPU runners add compute and copy times."""
    if (iters is None) == (duration is None):
        raise EdgesegError("give either --iters or --duration")
    for _ in range(warmup):
        runner.infer(batch)
    ms, compute, h2d, d2h = [], [], [], []
    deadline = time.perf_counter() + duration if duration else None
    while (len(ms) < iters) if iters else (time.perf_counter() < deadline):
        t0 = time.perf_counter_ns()
        runner.infer(batch)
        ms.append((time.perf_counter_ns() - t0) / 1e6)
        t = runner.last_timing
        for store, value in ((compute, t.compute_ms), (h2d, t.h2d_ms), (d2h, t.d2h_ms)):
            if value is not None:
                store.append(value)
    out = {"end_to_end": summarize(ms, len(batch))}
    if compute:
        out["gpu_compute"] = summarize(compute, len(batch))
        out["h2d_ms"] = float(np.median(h2d)) if h2d else None
        out["d2h_ms"] = float(np.median(d2h)) if d2h else None
    return out
