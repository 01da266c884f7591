"""Latency statistics in the trtexec vocabulary."""

from __future__ import annotations

import numpy as np


def summarize(ms: list[float] | np.ndarray, batch: int = 1) -> dict:
    """mean, median, p90, p99, min, max, std (ms) and throughput (images/s, from the median)."""
    a = np.asarray(ms, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no timings to summarize")
    median = float(np.median(a))
    return {
        "count": int(a.size), "mean_ms": float(a.mean()), "median_ms": median,
        "p90_ms": float(np.percentile(a, 90)), "p99_ms": float(np.percentile(a, 99)),
        "min_ms": float(a.min()), "max_ms": float(a.max()), "std_ms": float(a.std()),
        "fps": batch * 1000.0 / median if median > 0 else float("inf"),
        "fps_mean": batch * 1000.0 / float(a.mean()) if a.mean() > 0 else float("inf"),
    }
