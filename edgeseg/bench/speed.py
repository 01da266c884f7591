"""Timing a runner: warm-up, then timed iterations (or a duration), trtexec-style statistics.

Only `runner.infer` sits between the two clock reads; the input batch is made once, before
the warm-up, and Python's garbage collector is paused during the timed loop so a collection
does not land in one iteration and skew the tail percentiles.
"""

from __future__ import annotations

import gc
import sys
import time

import numpy as np

from edgeseg.bench.stats import summarize
from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.platform.hardware import physical_cores

_DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}
# Runner.last_timing fields -> result keys, named as trtexec names them in its summary.
GPU_TIMES = (("compute_ms", "gpu_compute", "GPU Compute Time"), ("h2d_ms", "h2d", "H2D Latency"),
             ("d2h_ms", "d2h", "D2H Latency"))


def input_batch(spec, size: tuple[int, int], batch: int, seed: int = 0, source: str = f("input_size")) -> np.ndarray:
    """A deterministic random batch shaped and typed as the runner declares (dynamic dims from `size`).

    `source` names where `size` came from (a field path marked by `errors.field`, or words), so a
    mismatch blames what the user actually gave.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    nhwc = spec.input_layout == "NHWC"
    declared = [d if isinstance(d, int) else None for d in spec.input_shape]
    if len(declared) == 4:
        fixed_hw = declared[1:3] if nhwc else declared[2:4]
        if all(fixed_hw) and tuple(fixed_hw) != (h, w):
            raise OptionError(f"model has a fixed input of {fixed_hw[0]}x{fixed_hw[1]}; "
                               f"{source} {h}x{w} does not fit")
        if declared[0] not in (None, batch):
            raise OptionError(f"model has a fixed batch of {declared[0]}; {f('batch')} {batch} does not fit")
    if nhwc:  # preprocessing in the graph: raw BGR camera pixels
        return rng.integers(0, 256, (batch, h, w, 3), dtype=np.uint8)
    # mean-subtracted pixels: roughly zero-centred, tens of units wide
    return rng.normal(0.0, 50.0, (batch, 3, h, w)).astype(_DTYPES.get(spec.input_dtype, np.float32))


def cpu_threads(runner) -> int | None:
    """Intra-op CPU threads the runner computes with: its explicit setting, else the backend's default."""
    explicit = getattr(runner, "threads", None)
    if explicit:
        return int(explicit)
    if runner.backend == "onnxruntime":  # ORT's default intra-op pool: one thread per physical core
        return physical_cores()
    if runner.backend == "openvino" and getattr(runner, "compiled", None) is not None:
        return int(runner.compiled_property("INFERENCE_NUM_THREADS")) or None
    if runner.backend == "torch" and "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    return None


def time_runner(runner, batch: np.ndarray, warmup: int = 10, iters: int | None = 100,
                duration: float | None = None, sampler=None) -> dict:
    """Latency statistics over timed `infer` calls; GPU runners add compute and copy times.

    `sampler` (a `jetson.PowerSampler`, not yet started) runs during the timed loop only, so
    warm-up power does not dilute the average.
    """
    check_budget(warmup, iters, duration)
    for _ in range(warmup):
        runner.infer(batch)
    ms: list[float] = []
    gpu: dict[str, list[float]] = {key: [] for _, key, _ in GPU_TIMES}
    if sampler is not None:
        sampler.start()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    deadline = start + duration if duration is not None else None
    try:
        while (len(ms) < iters) if iters is not None else (not ms or time.perf_counter() < deadline):
            t0 = time.perf_counter_ns()
            runner.infer(batch)
            ms.append((time.perf_counter_ns() - t0) / 1e6)
            timing = runner.last_timing
            for field, key, _ in GPU_TIMES:
                value = getattr(timing, field, None)
                if value is not None:
                    gpu[key].append(value)
    finally:
        wall = time.perf_counter() - start
        if gc_was_enabled:
            gc.enable()
        power = sampler.stop() if sampler is not None else None
    return _result(ms, gpu, len(batch), wall, runner, power)


DEFAULT_ITERS = 100  # what the help promises when neither iterations nor a duration is given


def default_iters(iters: int | None, duration: float | None) -> int | None:
    """`iters` as given, or the documented default when neither it nor `duration` is."""
    return DEFAULT_ITERS if iters is None and duration is None else iters


def check_budget(warmup: int, iters: int | None, duration: float | None, batch: int = 1,
                 limit: int | None = None) -> None:
    """Refuse a timing budget that cannot run, before any model is loaded (`edgeseg bench` and `time_runner`)."""
    if (iters is None) == (duration is None):
        raise OptionError(f"give either {f('iters')} or {f('duration')}" + (", not both" if iters is not None else ""))
    if iters is not None and iters < 1:
        raise OptionError(f"{f('iters')} must be at least 1, got {iters}")
    if duration is not None and duration <= 0:
        raise OptionError(f"{f('duration')} must be positive, got {duration}")
    if warmup < 0:
        raise OptionError(f"{f('warmup')} must be >= 0, got {warmup}")
    if batch < 1:
        raise OptionError(f"{f('batch')} must be >= 1, got {batch}")
    if limit is not None and limit < 1:
        raise OptionError(f"{f('limit')} must be >= 1, got {limit}")


def _result(ms, gpu, batch: int, wall: float, runner, power) -> dict:
    out = {"end_to_end": summarize(ms, batch), "timed_s": round(wall, 4), "cpu_threads": cpu_threads(runner)}
    if gpu["gpu_compute"]:
        for _, key, _ in GPU_TIMES:
            if gpu[key]:
                out[key] = summarize(gpu[key], batch)
        out["h2d_ms"] = out["h2d"]["median_ms"] if "h2d" in out else None
        out["d2h_ms"] = out["d2h"]["median_ms"] if "d2h" in out else None
    if power is not None:
        out["power"] = power.to_dict()
        if power.mean_w:
            out["power_w"] = round(power.mean_w, 3)
            fps = out["end_to_end"]["fps"]
            out["fps_per_watt"] = round(power.fps_per_watt(fps), 3) if fps else None
    return out
