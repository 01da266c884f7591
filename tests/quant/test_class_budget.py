"""The fallback's class budget (export --max-class-drop): layers go back to float until the worst
single class's IoU drop is within it too, and the report names that class and its drop.

Deterministic: one conv input clipped to 3 % of its range (a localized INT8 failure), labels
from the FP32 model, so FP32 scores 100 and every drop is INT8's."""

import pytest

from edgeseg.quant.calibrate import collect
from edgeseg.quant.config import QuantConfig, budget_missed
from edgeseg.quant.placement import Graph, plan
from edgeseg.quant.qdq import quantize_model
from edgeseg.quant.sensitivity import Validation, fall_back, local_score, run, worst_class

NAMES = ("sky", "road", "car", "tree", "sign")


def sabotaged(small_onnx, batches, **config):
    cfg = QuantConfig(method="minmax", **config)
    p = plan(small_onnx, cfg)
    amax = collect(small_onnx, p.tensors, iter(batches), "minmax")
    g = Graph(small_onnx)
    victim = next(t for t in p.tensors if g.op_of(t) == "PRelu")
    amax[victim] *= 0.03
    fp32 = run(small_onnx, batches)
    val = Validation(batches, [o[0].argmax(0) for o in fp32], 5, 255, NAMES)

    def build(keep):
        return quantize_model(small_onnx, plan(small_onnx, cfg, keep), amax)

    readers = {g.nodes[i].name for i, _ in p.activations[victim]}
    return cfg, amax, build, val, fp32, readers


def test_a_class_over_its_budget_sends_layers_back_to_float(small_onnx, batches):
    cfg, amax, build, val, fp32, readers = sabotaged(small_onnx, batches, max_miou_drop=100.0)
    _, mean_only = fall_back(small_onnx, cfg, amax, build, val, fp32, budget=100.0)
    assert mean_only.kept_float == [] and mean_only.class_drop_before > 2.0  # the mean budget alone: all INT8
    assert mean_only.worst_class in NAMES
    limit = mean_only.class_drop_before / 2
    cfg, amax, build, val, fp32, readers = sabotaged(small_onnx, batches, max_miou_drop=100.0, max_class_drop=limit)
    _, both = fall_back(small_onnx, cfg, amax, build, val, fp32, budget=100.0)
    assert both.kept_float and readers <= set(both.kept_float)
    assert both.class_drop_after <= limit and both.class_drop_before == mean_only.class_drop_before
    _, again = fall_back(small_onnx, cfg, amax, build, val, fp32, budget=100.0)
    assert again.kept_float == both.kept_float  # deterministic


def test_a_scorer_without_per_class_iou_cannot_serve_a_class_budget(small_onnx, batches):
    from edgeseg.errors import EdgesegError

    cfg, amax, build, val, fp32, _ = sabotaged(small_onnx, batches, max_miou_drop=1.0, max_class_drop=1.0)
    with pytest.raises(EdgesegError, match="per-class IoU"):
        fall_back(small_onnx, cfg, amax, build, val, fp32, 1.0, local_score)


def test_the_report_records_the_worst_class_and_its_drop(small_onnx, batches, tmp_path, calib_images):

    from edgeseg.data.calibset import CalibSet
    from edgeseg.data.contract import Preprocess
    from edgeseg.quant.ptq import quantize

    paths = calib_images
    cfg, _, _, val, _, _ = sabotaged(small_onnx, batches, max_miou_drop=100.0, max_class_drop=0.0, fallback_limit=0)
    _, _, report = quantize(small_onnx, "y" * 64, cfg, CalibSet(tuple(paths), "1" * 64, "test"),
                            Preprocess(mean_bgr=(0, 0, 0), input_size=(32, 48)), cache_dir=tmp_path / "c", val=val)
    d = report.to_dict()
    assert d["worst_class"] in NAMES and d["class_drop"] is not None and d["choose_class_drop_after"] is not None
    if d["class_drop"] > 0:  # a class budget of 0 with no layer allowed back: missed, and said so by name
        assert f"({d['worst_class']})" in budget_missed(cfg, d)


def test_worst_class_skips_classes_absent_from_both():
    nan = float("nan")
    assert worst_class([0.9, nan, 0.5], [0.85, nan, 0.2]) == (2, pytest.approx(30.0))
    assert worst_class([nan], [nan]) == (None, None)


def test_export_refuses_a_class_budget_without_the_mean_budget():
    from edgeseg.errors import OptionError
    from edgeseg.export.options import check, export_options

    with pytest.raises(OptionError, match="only applies with") as caught:
        check(export_options(precision="int8", calib="c", max_class_drop=1.0))
    assert caught.value.fields == ["quant.max_class_drop", "quant.max_miou_drop"]
    with pytest.raises(OptionError, match="finite number"):
        QuantConfig(max_miou_drop=1.0, max_class_drop=float("nan"))
