"""The timing loop: warm-up excluded, counts exact, GPU and power figures collected, inputs right."""

import gc

import numpy as np
import pytest

from edgeseg.platform.jetson import PowerSummary
from edgeseg.bench.speed import cpu_threads, input_batch, time_runner
from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing
from tiny import tiny_onnx


class Fake(Runner):
    """Counts calls, notes whether the garbage collector was on, reports GPU-style timings."""

    backend = "fake"

    def __init__(self, timing=None, fail_at=None):
        super().__init__("fake")
        self.calls, self.gc_states, self.timing, self.fail_at = 0, [], timing, fail_at

    def _activate(self):
        pass

    def _infer(self, batch):
        self.calls += 1
        self.gc_states.append(gc.isenabled())
        if self.fail_at == self.calls:
            raise RuntimeError("backend crashed")
        self.last_timing = self.timing or Timing()
        return batch

    @property
    def io_spec(self):
        return IOSpec("float32", "NCHW", (None, 3, None, None), "logits")


class FakeSampler:
    def __init__(self, runner, watts=5.0):
        self.runner, self.watts, self.calls_at_start, self.stopped = runner, watts, None, False

    def start(self):
        self.calls_at_start = self.runner.calls
        return self

    def stop(self):
        self.stopped = True
        return PowerSummary(samples=4, mean_w=self.watts, total="VDD_IN")


BATCH = np.zeros((2, 3, 4, 4), np.float32)


def test_warmup_is_run_but_not_timed():
    with Fake() as r:
        sampler = FakeSampler(r)
        out = time_runner(r, BATCH, warmup=3, iters=7, sampler=sampler)
    assert r.calls == 10 and out["end_to_end"]["count"] == 7
    assert sampler.calls_at_start == 3 and sampler.stopped  # power sampled over the timed calls only
    assert r.gc_states == [True] * 3 + [False] * 7 and gc.isenabled()  # no collection inside the timed loop
    assert out["power_w"] == 5.0 and out["fps_per_watt"] == pytest.approx(out["end_to_end"]["fps"] / 5.0, rel=1e-3)
    assert out["power"]["samples"] == 4 and out["power"]["total"] == "VDD_IN"
    assert "gpu_compute" not in out and out["cpu_threads"] is None


def test_duration_mode_runs_at_least_once_and_for_the_time_given():
    with Fake() as r:
        out = time_runner(r, BATCH, warmup=0, iters=None, duration=0.05)
    assert out["end_to_end"]["count"] >= 1 and out["timed_s"] >= 0.05


def test_gpu_times_are_reported_apart_from_end_to_end():
    with Fake(Timing(compute_ms=1.0, h2d_ms=0.1, d2h_ms=0.2)) as r:
        out = time_runner(r, BATCH, warmup=1, iters=5)
    assert out["gpu_compute"]["median_ms"] == 1.0 and out["gpu_compute"]["count"] == 5
    assert out["gpu_compute"]["fps"] == pytest.approx(2000.0)  # batch 2 per 1 ms of compute
    assert out["h2d"]["p99_ms"] == pytest.approx(0.1) and out["h2d_ms"] == 0.1 and out["d2h_ms"] == 0.2


def test_a_crash_in_the_timed_loop_still_stops_the_sampler_and_restores_gc():
    with Fake(fail_at=3) as r:
        sampler = FakeSampler(r)
        with pytest.raises(RuntimeError, match="crashed"):
            time_runner(r, BATCH, warmup=1, iters=5, sampler=sampler)
    assert sampler.stopped and gc.isenabled()


@pytest.mark.parametrize("kwargs, message", [
    ({"iters": None, "duration": None}, "either --iters or --duration"),
    ({"iters": 5, "duration": 1.0}, "either --iters or --duration"),
    ({"iters": 0}, "--iters must be at least 1"),
    ({"iters": None, "duration": 0.0}, "--duration must be positive"),
    ({"iters": 5, "warmup": -1}, "--warmup must be >= 0"),
])
def test_bad_budgets_are_refused(kwargs, message):
    with Fake() as r, pytest.raises(EdgesegError, match=message):
        time_runner(r, BATCH, **kwargs)
    assert r.calls == 0


def test_input_batch_follows_the_spec():
    nhwc = input_batch(IOSpec("uint8", "NHWC", (None, None, None, 3), "labels"), (4, 6), 2)
    assert nhwc.shape == (2, 4, 6, 3) and nhwc.dtype == np.uint8
    half = input_batch(IOSpec("float16", "NCHW", (None, 3, "h", "w"), "logits"), (4, 6), 1)
    assert half.shape == (1, 3, 4, 6) and half.dtype == np.float16
    fixed = IOSpec("float32", "NCHW", (1, 3, 8, 8), "logits")
    assert input_batch(fixed, (8, 8), 1, seed=3).tobytes() == input_batch(fixed, (8, 8), 1, seed=3).tobytes()
    with pytest.raises(EdgesegError, match="fixed input of 8x8; --input-size 4x6"):
        input_batch(fixed, (4, 6), 1)
    with pytest.raises(EdgesegError, match="fixed batch of 1; --batch 2"):
        input_batch(fixed, (8, 8), 2)
    with pytest.raises(EdgesegError, match="fixed input of 180x240"):
        input_batch(IOSpec("uint8", "NHWC", (1, 180, 240, 3), "labels"), (360, 480), 1)


def test_onnx_runtime_threads_are_recorded(tmp_path):
    from edgeseg.platform.hardware import physical_cores
    from edgeseg.runtime.onnx_runner import OrtRunner

    model = tiny_onnx(tmp_path / "t.onnx")
    with OrtRunner(model, threads=1) as r:
        batch = input_batch(r.io_spec, (8, 12), 1)
        out = time_runner(r, batch, warmup=1, iters=3)
    assert out["cpu_threads"] == 1 and out["end_to_end"]["count"] == 3 and batch.shape == (1, 3, 8, 12)
    assert cpu_threads(OrtRunner(model)) == physical_cores()  # ORT's default pool: one per physical core
