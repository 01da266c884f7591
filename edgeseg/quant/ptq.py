"""Post-training quantization in three steps: calibrate, choose the fallback, report.

Pure ONNX -> ONNX: `quantize` takes an in-memory FP32 model and returns the Q/DQ model; the
export pipeline's INT8/FP8 stage (edgeseg/export/quantized_stage.py) calls it.
"""

from __future__ import annotations

import time
from pathlib import Path

from edgeseg.errors import OptionError
from edgeseg.errors import field as f
from edgeseg.quant import report, sensitivity, strongly_typed
from edgeseg.quant.calibrate import calibrate
from edgeseg.quant.placement import plan as make_plan
from edgeseg.quant.report import QuantReport
from edgeseg.quant.sensitivity import Score, Validation


def quantize(model, model_sha: str, config, calib_set, preprocess, *, cache_dir: Path, val: Validation | None = None,
             score: Score | None = None, progress=None) -> tuple[object, dict[str, float], QuantReport]:
    """(Q/DQ model, amax per tensor, QuantReport) for an in-memory FP32 ONNX model.

    `val`: validation images with labels, for the fallback (`config.max_miou_drop`) and the
    report's mIoU; `score(model, val) -> mIoU` evaluates the fallback's candidates (default:
    here; edgeseg.fleet.shard.ShardedScore: on Ray workers); `progress(total, what)`: a context
    manager giving `advance()`, called per calibration image and fallback step (see edgeseg/progress.py).
    """
    t0 = time.perf_counter()
    model = strongly_typed.prepare(model, config)
    calibration = calibrate(model, model_sha, config, calib_set, preprocess, cache_dir, progress)

    def build(keep):
        return strongly_typed.build(model, make_plan(model, config, keep), calibration.amax, config)

    kept, accuracy = [], {}
    if config.max_miou_drop is not None:
        if val is None:
            raise OptionError(f"{f('quant.max_miou_drop')} needs {f('quant.val')} (validation images with labels)")
        qmodel, fallback, held = sensitivity.choose(model, config, calibration.amax, build, val, score,
                                                     progress)
        kept = fallback.kept_float
        accuracy = report.accuracy_held_back(held, model, qmodel, build, fallback, len(val.batches) - len(held.batches))
    else:
        qmodel = build(frozenset())
        if val is not None:
            accuracy = report.accuracy_on(val, model, qmodel)
    summary = report.summarize(model, qmodel, config, calib_set, calibration, kept, accuracy, time.perf_counter() - t0)
    return qmodel, calibration.amax, summary
