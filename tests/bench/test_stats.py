"""Latency statistics: the numbers trtexec reports, computed the same way every time."""

import numpy as np
import pytest

from edgeseg.bench.stats import summarize


def test_summary_of_known_latencies():
    s = summarize(list(range(1, 101)), batch=1)  # 1..100 ms
    assert s["count"] == 100 and s["min_ms"] == 1 and s["max_ms"] == 100
    assert s["mean_ms"] == pytest.approx(50.5) and s["median_ms"] == pytest.approx(50.5)
    assert s["p90_ms"] == pytest.approx(90.1) and s["p95_ms"] == pytest.approx(95.05)
    assert s["p99_ms"] == pytest.approx(99.01)
    assert s["std_ms"] == pytest.approx(np.std(np.arange(1, 101)))


def test_throughput_uses_batch_and_median():
    s = summarize([10, 20, 30, 40, 1000], batch=2)  # one slow outlier
    assert s["median_ms"] == 30 and s["fps"] == pytest.approx(2000 / 30)
    assert s["fps_mean"] == pytest.approx(2000 / 220)  # the mean feels the outlier, the median does not
    assert s["p90_ms"] > s["median_ms"]


def test_zero_latency_gives_no_rate_and_bad_input_is_refused():
    assert summarize([0.0, 0.0])["fps"] is None  # JSON has no infinity
    with pytest.raises(ValueError, match="no timings"):
        summarize([])
    with pytest.raises(ValueError, match="batch"):
        summarize([1.0], batch=0)
