"""What a quantization did and what it cost: the `.quant.json` report beside every INT8/FP8 model.

Accuracy is measured where the fallback never looked: on the held-back half of --val when
layers were chosen, else on all of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from edgeseg.quant import strongly_typed
from edgeseg.quant.placement import plan as make_plan
from edgeseg.quant.sensitivity import Fallback, Validation, run, worst_class
from edgeseg.runtime.ort import mishandled


@dataclass
class QuantReport:
    calib_images: int
    calib_sha256: str
    method: str
    placement: str
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
    class_drop: float | None = None  # the worst single class's IoU drop (points), on the images of drop_after
    worst_class: str | None = None  # that class
    choose_class_drop_after: float | None = None  # the worst class's drop on the images the layers were chosen on
    warning: str | None = None
    dtype: str = "int8"
    float_compute: str = "fp32"  # precision of what is not quantized
    opset: int | None = None
    onnxruntime: str = "default settings"  # how ONNX Runtime runs this graph as its ops define

    def to_dict(self) -> dict:
        return asdict(self)


def _class_drop(val: Validation, fp32_cm, cm) -> dict:
    """The worst single class's IoU drop and its name."""
    index, drop = worst_class(fp32_cm.per_class_iou(), cm.per_class_iou())
    return {"class_drop": None if drop is None else round(drop, 4),
            "worst_class": None if index is None else val.class_name(index)}


def accuracy_on(val: Validation, model, qmodel) -> dict:
    """FP32 and quantized mIoU on every --val image (no fallback: none of them chose anything)."""
    fp32_cm, cm = val.confusion(run(model, val.batches)), val.confusion(run(qmodel, val.batches))
    fp32, quantized = round(fp32_cm.miou(), 4), round(cm.miou(), 4)
    drop = round(fp32 - quantized, 4)
    return {"fp32_miou": fp32, "int8_miou": quantized, "drop_before": drop, "drop_after": drop,
            "drop_measured_on": f"all {len(val.batches)} --val images (no fallback: nothing chosen on them)",
            **_class_drop(val, fp32_cm, cm)}


def accuracy_held_back(held: Validation, model, qmodel, build, fallback: Fallback, chosen_on: int) -> dict:
    """The drop before and after the fallback on the held-back images, which the choice never saw."""
    fp32_cm, cm = held.confusion(run(model, held.batches)), held.confusion(run(qmodel, held.batches))
    fp32, quantized = fp32_cm.miou(), cm.miou()
    before = quantized if not fallback.kept_float else held.miou(run(build(frozenset()), held.batches))
    after = fallback.class_drop_after
    return {"fp32_miou": round(fp32, 4), "int8_miou": round(quantized, 4), "drop_before": round(fp32 - before, 4),
            "drop_after": round(fp32 - quantized, 4),
            "drop_measured_on": f"{len(held.batches)} held-back --val images (every second one), not the "
                                f"{chosen_on} the float layers were chosen on",
            "choose_drop_after": round(fallback.drop_after, 4), **_class_drop(held, fp32_cm, cm),
            "choose_class_drop_after": None if after is None else round(after, 4)}


def summarize(model, qmodel, config, calib_set, calibration, kept_float: list[str], accuracy: dict,
              seconds: float) -> QuantReport:
    """The report of `qmodel`, quantized from `model` (the prepared FP32 graph) with `kept_float` left in float."""
    quantized = make_plan(model, config, frozenset(kept_float)).layer_count()
    convs = sum(1 for n in model.graph.node if n.op_type == "Conv")
    return QuantReport(len(calib_set), calib_set.sha256, config.method, config.placement, quantized, convs - quantized,
                       list(kept_float), calibration.reused, round(calibration.seconds, 2), round(seconds, 2),
                       warning=calib_set.warning(), dtype=config.dtype, float_compute="fp16" if config.half else "fp32",
                       opset=strongly_typed.opset_of(model), onnxruntime=how_to_open(qmodel), **accuracy)


def how_to_open(qmodel) -> str:
    """'default settings', or the setting ONNX Runtime needs and why (edgeseg.runtime.ort.mishandled)."""
    why = mishandled(qmodel)
    return "default settings" if why is None else (
        f"graph_optimization_level ORT_DISABLE_ALL: its default optimisations run {why} wrongly")
