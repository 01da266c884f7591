"""Latency statistics in the trtexec vocabulary (mean, median, percentiles, throughput)."""

from __future__ import annotations

import numpy as np

PERCENTILES = (90, 95, 99)


def summarize(ms: list[float] | np.ndarray, batch: int = 1) -> dict:
    """mean, median, p90/p95/p99, min, max, std (ms) and throughput in images/s.

    `fps` comes from the median (robust to the odd slow call), `fps_mean` from the mean (what
    a long run actually sustains). Percentiles interpolate linearly between samples.
    """
    a = np.asarray(ms, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no timings to summarize")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    median, mean = float(np.median(a)), float(a.mean())
    out = {"count": int(a.size), "mean_ms": mean, "median_ms": median}
    out.update({f"p{p}_ms": float(np.percentile(a, p)) for p in PERCENTILES})
    out.update({"min_ms": float(a.min()), "max_ms": float(a.max()), "std_ms": float(a.std()),
                "fps": _rate(batch, median), "fps_mean": _rate(batch, mean)})
    return out


def _rate(batch: int, ms: float) -> float | None:
    """Images per second; None when a clock too coarse to see the call gives 0 ms (JSON has no inf)."""
    return batch * 1000.0 / ms if ms > 0 else None
