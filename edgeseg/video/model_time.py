"""Model-only figures a video run is compared with, one per mode, the way OpenVINO's benchmark_app
reports them: synchronous latency (one `infer` at a time) and asynchronous throughput (as many
requests in flight as the pipeline keeps, `runner.async_depth`). The pipeline's end-to-end rate is
an asynchronous figure, so it is compared with the asynchronous one; comparing it with the
synchronous one made end to end look faster than the model alone."""

from __future__ import annotations

import collections
import time

import numpy as np

from edgeseg.bench.speed import time_runner


def requests_in_flight(runner) -> int:
    """How many submissions the pipeline (and the asynchronous timing) keeps in flight."""
    return max(1, int(getattr(runner, "async_depth", 1)))


def time_sync(runner, batch: np.ndarray, seconds: float) -> dict:
    """Latency of `infer` calls one after another (what `edgeseg bench` reports)."""
    t = time_runner(runner, batch, warmup=2, iters=None, duration=seconds)["end_to_end"]
    return {"mode": "sync", "requests": 1, "count": t["count"], "fps": round(t["fps"], 3),
            **{k: round(t[k], 3) for k in ("mean_ms", "median_ms", "p99_ms")}}


def time_async(runner, batch: np.ndarray, seconds: float) -> dict:
    """Throughput of `submit` with `requests_in_flight` requests outstanding, collected in order, as
    the pipeline's infer stage runs them; at least one full round."""
    depth = requests_in_flight(runner)
    for _ in range(2):  # warm-up
        runner.submit(batch)()
    pending: collections.deque = collections.deque()
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while done < depth or time.perf_counter() < deadline:
        while len(pending) < depth:
            pending.append(runner.submit(batch))
        pending.popleft()()
        done += 1
    while pending:
        pending.popleft()()
        done += 1
    wall = time.perf_counter() - start
    return {"mode": "async", "requests": depth, "count": done, "fps": round(done / wall, 3),
            "ms_per_frame": round(wall * 1000.0 / done, 3)}


def model_only(runner, batch: np.ndarray, seconds: float) -> dict:
    """{"sync": ..., "async": ...}, `seconds` split between them."""
    return {"sync": time_sync(runner, batch, seconds / 2), "async": time_async(runner, batch, seconds / 2)}
