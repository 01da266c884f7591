"""Streaming calibration: per-tensor ranges accumulated image by image, memory bounded.

ONNX Runtime's calibrators keep every intermediate output of every image (122 CamVid images
at 360x480 went past 24 GB). Here the graph itself reduces each calibrated tensor to its
|max| and, for histogram methods, to a strided sample (1 pixel in 4x4), so one image's
outputs are small; histograms of |x| are merged as images stream through.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeseg.data.images import read_image
from edgeseg.errors import EdgesegError
from edgeseg.progress import phase
from edgeseg.quant import ranges
from edgeseg.quant.placement import plan as make_plan
from edgeseg.quant.config import PLACEMENTS
from edgeseg.runtime import ort

log = logging.getLogger(__name__)

STRIDE = 4  # spatial subsampling of the values that feed the histograms


class Histogram:
    """Histogram of |x| over [0, edge); the edge doubles (merging bin pairs) as values grow."""

    def __init__(self, bins: int):
        self.bins = bins
        self.counts = np.zeros(bins, dtype=np.int64)
        self.edge = 0.0

    def add(self, values: np.ndarray, amax: float) -> None:
        if amax <= 0:
            self.counts[0] += values.size
            return
        if self.edge == 0.0:
            self.edge = float(amax) * 1.0001
        while amax >= self.edge:
            merged = self.counts.reshape(-1, 2).sum(1)
            self.counts = np.concatenate([merged, np.zeros(self.bins // 2, np.int64)])
            self.edge *= 2
        idx = np.minimum((np.abs(values) * (self.bins / self.edge)).astype(np.int64), self.bins - 1)
        self.counts += np.bincount(idx.ravel(), minlength=self.bins)

    def percentile(self, p: float) -> float:
        cdf = np.cumsum(self.counts) / max(self.counts.sum(), 1)
        i = int(np.searchsorted(cdf, p / 100.0))
        return (i + 1) * self.edge / self.bins

    def entropy(self, levels: int = 128) -> float:
        """TensorRT's entropy calibration: the threshold minimising KL(P || Q) of the clipped histogram.

        The zero bin takes its neighbour's count, as NVIDIA's reference does: exact zeros (half of
        every ReLU output) survive any scale, and left as a spike they pull the threshold far down.
        """
        hist = self.counts.astype(np.float64)
        hist[0] = hist[1]
        nz = np.nonzero(hist)[0]
        if nz.size == 0:
            return self.edge / self.bins
        top = max(int(nz[-1]) + 1, levels)
        best, best_i = np.inf, top
        for i in range(levels, top + 1, max(1, (top - levels) // 256)):
            p = hist[:i].copy()
            p[i - 1] += hist[i:].sum()
            starts = np.linspace(0, i, levels + 1).astype(np.int64)[:-1]
            lengths = np.diff(np.append(starts, i))
            used = p > 0  # the clipped reference's support, outlier bin included
            sums = np.add.reduceat(hist[:i], starts)
            counts = np.add.reduceat(used.astype(np.float64), starts)
            q = np.repeat(np.where(counts > 0, sums / np.maximum(counts, 1), 0.0), lengths) * used
            ps, qs = p / p.sum(), q / max(q.sum(), 1e-12)
            mask = ps > 0
            kl = float(np.sum(ps[mask] * np.log(ps[mask] / np.maximum(qs[mask], 1e-12))))
            if kl < best:
                best, best_i = kl, i
        return (best_i + 0.5) * self.edge / self.bins


def augment(model, tensors: list[str], histograms: bool):
    """Copy of `model` whose outputs are |max| (and a strided sample) of each tensor."""
    import copy

    from onnx import TensorProto, helper, numpy_helper

    m = copy.deepcopy(model)
    g = m.graph
    del g.output[:]
    g.initializer.extend([numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
                          (("cal_starts", [0, 0]), ("cal_ends", [2**31 - 1, 2**31 - 1]), ("cal_axes", [2, 3]),
                           ("cal_steps", [STRIDE, STRIDE]))])
    ranks = _ranks(model)
    for i, t in enumerate(tensors):
        # max and -min instead of max(|x|): no full-size Abs copy of every tensor.
        g.node.extend([helper.make_node("ReduceMax", [t], [f"cal_max_{i}"], keepdims=0),
                       helper.make_node("ReduceMin", [t], [f"cal_min_{i}"], keepdims=0),
                       helper.make_node("Neg", [f"cal_min_{i}"], [f"cal_nmin_{i}"]),
                       helper.make_node("Max", [f"cal_max_{i}", f"cal_nmin_{i}"], [f"cal_amax_{i}"])])
        g.output.append(helper.make_tensor_value_info(f"cal_amax_{i}", TensorProto.FLOAT, []))
        if histograms:
            src = t
            if ranks.get(t) == 4:
                g.node.append(helper.make_node("Slice", [t, "cal_starts", "cal_ends", "cal_axes", "cal_steps"],
                                               [f"cal_sample_{i}"]))
                src = f"cal_sample_{i}"
            g.output.append(helper.make_tensor_value_info(src, TensorProto.FLOAT, None))
    return m


def _ranks(model) -> dict:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    out = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        if vi.type.tensor_type.HasField("shape"):
            out[vi.name] = len(vi.type.tensor_type.shape.dim)
    return out


def collect(model, tensors: list[str], batches, method: str, bins: int = 2048, percentile: float = 99.999,
            progress=None) -> dict[str, float]:
    """|x| thresholds per tensor (symmetric ranges) from batches streamed one at a time."""
    if not tensors:
        return {}
    histograms = method in ("entropy", "percentile")
    aug = augment(model, tensors, histograms)
    sess = ort.session(aug, memory_arena=False)  # give each image's buffers back instead of growing an arena
    del aug
    name = sess.get_inputs()[0].name
    amax = np.zeros(len(tensors))
    hists = [Histogram(bins) for _ in tensors] if histograms else []
    seen = 0
    for batch in batches:
        outs = sess.run(None, {name: batch})
        step = 2 if histograms else 1
        for i in range(len(tensors)):
            a = float(outs[i * step])
            amax[i] = max(amax[i], a)
            if histograms:
                hists[i].add(outs[i * step + 1], a)
        del outs
        seen += 1
        if progress:
            progress()
    if seen == 0:
        raise EdgesegError("calibration received no images")
    if method == "minmax":
        return {t: float(a) for t, a in zip(tensors, amax)}
    pick = (lambda h: h.percentile(percentile)) if method == "percentile" else (lambda h: h.entropy())
    return {t: float(min(pick(h), a)) if a > 0 else 0.0 for t, h, a in zip(tensors, hists, amax)}


def calibration_tensors(model, config) -> list[str]:
    """Every tensor either placement (or this config) may quantize: one calibration serves all
    (ranges are |x| thresholds, the same for INT8 and FP8)."""
    names = set(make_plan(model, config).tensors)
    for placement in PLACEMENTS:
        names |= set(make_plan(model, config.with_(placement=placement, dtype="int8", fp16_rest=True)).tensors)
    return sorted(names)


@dataclass(frozen=True)
class Calibration:
    amax: dict[str, float]  # |x| threshold per tensor
    reused: bool  # read from the ranges cache, not measured now
    seconds: float


def calibrate(model, model_sha: str, config, calib_set, preprocess, cache_dir: Path, progress=None) -> Calibration:
    """Ranges of every tensor a placement may quantize, from the cache when this model, set and
    method were calibrated before. `progress(total, what)` gives `advance()`, called per image."""
    tensors = calibration_tensors(model, config)
    key = ranges.cache_key(model_sha, calib_set.sha256, config.range_key, tensors)
    amax = ranges.load(cache_dir, key)
    if amax is not None:
        log.info("reusing calibrated ranges ranges-%s.json", key)
        return Calibration(amax, True, 0.0)
    log.info("calibrating %d tensors on %d images (%s)", len(tensors), len(calib_set), config.method)
    t0 = time.perf_counter()
    batches = (preprocess.apply(read_image(p))[None] for p in calib_set.paths)
    with phase(progress, len(calib_set), f"calibrating ({config.method})") as advance:
        amax = collect(model, tensors, batches, config.method, config.bins, config.percentile, advance)
    seconds = time.perf_counter() - t0
    ranges.save(cache_dir, key, amax, {"model_sha256": model_sha, "calib_sha256": calib_set.sha256,
                                       "calib_images": len(calib_set), **config.range_key})
    return Calibration(amax, False, seconds)
