"""INT8 / FP8 post-training quantization: streaming calibration, Q/DQ placement, accuracy-aware fallback.

Pure ONNX -> ONNX: `quantize` takes an in-memory FP32 model and returns the Q/DQ model; the
export pipeline's INT8 stage (edgeseg/export/int8.py) calls it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgeseg.errors import EdgesegError

log = logging.getLogger(__name__)


@dataclass
class QuantReport:
    calib_images: int
    calib_sha256: str
    method: str
    target: str
    quantized_layers: int
    float_layers: int
    kept_float: list[str] = field(default_factory=list)
    ranges_reused: bool = False
    calib_seconds: float = 0.0
    seconds: float = 0.0
    fp32_miou: float | None = None
    int8_miou: float | None = None
    drop_before: float | None = None
    drop_after: float | None = None
    drop_measured_on: str | None = None  # which images fp32/int8 mIoU and the drops above come from
    choose_drop_after: float | None = None  # the drop on the images the fallback chose layers with
    warning: str | None = None
    dtype: str = "int8"
    float_compute: str = "fp32"  # precision of what is not quantized
    opset: int | None = None
    onnxruntime: str = "default settings"  # how ONNX Runtime runs this graph as its ops define

    def to_dict(self) -> dict:
        return asdict(self)


def calibration_tensors(model, config) -> list[str]:
    """Every tensor either placement (or this config) may quantize: one calibration serves all
    (ranges are |x| thresholds, the same for INT8 and FP8)."""
    from edgeseg.quant.placement import plan

    names = set(plan(model, config).tensors)
    for target in ("tensorrt", "cpu"):
        names |= set(plan(model, config.with_(target=target, dtype="int8", fp16_rest=True)).tensors)
    return sorted(names)


def quantize(model, model_sha: str, config, calib, preprocess, *, cache_dir: Path, val=None, progress=None,
             scorer=None):
    """(Q/DQ model, amax per tensor, QuantReport) for an in-memory FP32 ONNX model.

    `progress(total, what)`: a context manager giving `advance()`, called per calibration
    image (see edgeseg/progress.py); calibration is the long part. `scorer(val)`: a context
    manager under which `val.model_miou` is computed elsewhere (edgeseg.fleet: Ray workers).
    """
    from edgeseg.quant import calibrate, ranges, sensitivity, strongly_typed
    from edgeseg.quant.placement import plan as make_plan

    t0 = time.perf_counter()
    model = strongly_typed.prepare(model, config)
    tensors = calibration_tensors(model, config)
    key = ranges.cache_key(model_sha, calib.sha256, config.range_key, tensors)
    amax = ranges.load(cache_dir, key)
    reused = amax is not None
    calib_seconds = 0.0
    if amax is None:
        from edgeseg.data.images import read_image

        from edgeseg.progress import silent

        log.info("calibrating %d tensors on %d images (%s)", len(tensors), len(calib), config.method)
        t1 = time.perf_counter()
        batches = (preprocess.apply(read_image(p))[None] for p in calib.paths)
        with (progress or silent)(len(calib), f"calibrating ({config.method})") as advance:
            amax = calibrate.collect(model, tensors, batches, config.method, config.bins, config.percentile, advance)
        calib_seconds = time.perf_counter() - t1
        ranges.save(cache_dir, key, amax, {"model_sha256": model_sha, "calib_sha256": calib.sha256,
                                           "calib_images": len(calib), **config.range_key})
    else:
        log.info("reusing calibrated ranges ranges-%s.json", key)

    def build(keep):
        return strongly_typed.build(model, make_plan(model, config, keep), amax, config)

    fallback = None
    if config.max_miou_drop is not None:
        if val is None:
            raise EdgesegError("--max-miou-drop needs --val (validation images with labels)")
        choose, held = val.split()
        choose.fp32_logits = sensitivity.run(model, choose.batches)
        with scorer(choose) if scorer else contextlib.nullcontext():  # e.g. sharded over Ray workers
            qmodel, fallback = sensitivity.fall_back(model, config, amax, build, choose, config.max_miou_drop)
    else:
        qmodel = build(frozenset())
        if val is not None:
            val.fp32_logits = sensitivity.run(model, val.batches)
    p = make_plan(model, config, frozenset(fallback.kept_float) if fallback else frozenset())
    convs = sum(1 for n in model.graph.node if n.op_type == "Conv")
    report = QuantReport(len(calib), calib.sha256, config.method, config.target, p.layer_count(),
                         convs - p.layer_count(), fallback.kept_float if fallback else [], reused,
                         round(calib_seconds, 2), 0.0, warning=calib.warning(), dtype=config.dtype,
                         float_compute="fp16" if config.half else "fp32", opset=strongly_typed.opset_of(model),
                         onnxruntime=_how_to_open(qmodel))
    if fallback:  # the drop on held-back images, which the choice of layers never saw
        held.fp32_logits = sensitivity.run(model, held.batches)
        fp32_miou = held.miou(held.fp32_logits)
        int8_miou = held.miou(sensitivity.run(qmodel, held.batches))
        before = fp32_miou - (int8_miou if not fallback.kept_float else held.miou(sensitivity.run(build(frozenset()), held.batches)))
        report.fp32_miou, report.int8_miou = round(fp32_miou, 4), round(int8_miou, 4)
        report.drop_before, report.drop_after = round(before, 4), round(fp32_miou - int8_miou, 4)
        report.choose_drop_after = round(fallback.drop_after, 4)
        report.drop_measured_on = (f"{len(held.batches)} held-back --val images (every second one), not the "
                                   f"{len(choose.batches)} the float layers were chosen on")
    elif val is not None:
        report.fp32_miou = round(val.miou(val.fp32_logits), 4)
        report.int8_miou = round(val.miou(sensitivity.run(qmodel, val.batches)), 4)
        report.drop_before = report.drop_after = round(report.fp32_miou - report.int8_miou, 4)
        report.drop_measured_on = f"all {len(val.batches)} --val images (no fallback: nothing chosen on them)"
    report.seconds = round(time.perf_counter() - t0, 2)
    return qmodel, amax, report


def _how_to_open(qmodel) -> str:
    """'default settings', or the setting ONNX Runtime needs and why (edgeseg.runtime.ort.mishandled)."""
    from edgeseg.runtime.ort import mishandled

    why = mishandled(qmodel)
    return "default settings" if why is None else (
        f"graph_optimization_level ORT_DISABLE_ALL: its default optimisations run {why} wrongly")
