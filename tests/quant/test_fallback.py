"""The accuracy-aware fallback finds the layer INT8 hurts and keeps it in float."""

from edgeseg.quant.calibrate import collect
from edgeseg.quant.config import QuantConfig
from edgeseg.quant.placement import Graph, plan
from edgeseg.quant.qdq import quantize_model
from edgeseg.quant.sensitivity import Validation, fall_back, local_score, run


def test_fallback_recovers_a_sabotaged_layer(small_onnx, batches):
    cfg = QuantConfig(method="minmax", max_miou_drop=0.3)
    p = plan(small_onnx, cfg)
    amax = collect(small_onnx, p.tensors, iter(batches), "minmax")
    g = Graph(small_onnx)
    # Clip one conv input to 3% of its range: a localized INT8 failure, as a bad calibration makes.
    victim = next(t for t in p.tensors if g.op_of(t) == "PRelu")
    amax[victim] *= 0.03
    fp32 = run(small_onnx, batches)
    val = Validation(batches, [o[0].argmax(0) for o in fp32], num_classes=5, ignore_index=255)

    def build(keep):
        return quantize_model(small_onnx, plan(small_onnx, cfg, keep), amax)

    _, first = fall_back(small_onnx, cfg, amax, build, val, fp32, budget=0.3)
    assert first.drop_before > 1.0
    assert first.drop_after <= 0.3 and first.kept_float
    victim_readers = {g.nodes[i].name for i, _ in p.activations[victim]}
    assert victim_readers <= set(first.kept_float)
    assert first.ranking[0][0] == ", ".join(sorted(victim_readers))  # ranked worst
    _, again = fall_back(small_onnx, cfg, amax, build, val, fp32, budget=0.3)
    assert again.kept_float == first.kept_float  # deterministic


def test_within_budget_keeps_everything_quantized(small_onnx, batches):
    cfg = QuantConfig(method="minmax")
    p = plan(small_onnx, cfg)
    amax = collect(small_onnx, p.tensors, iter(batches), "minmax")
    fp32 = run(small_onnx, batches)
    val = Validation(batches, [o[0].argmax(0) for o in fp32], 5, 255)
    _, fb = fall_back(small_onnx, cfg, amax, lambda keep: quantize_model(small_onnx, plan(small_onnx, cfg, keep), amax),
                      val, fp32, budget=100.0)
    assert fb.kept_float == [] and fb.drop_after == fb.drop_before


def test_drop_is_reported_on_held_back_images(small_onnx, batches, tmp_path):
    """The fallback chooses on every second --val image and reports the drop on the others."""
    import cv2
    import numpy as np

    from edgeseg.data.calibset import CalibSet
    from edgeseg.data.contract import Preprocess
    from edgeseg.quant.ptq import quantize

    rng = np.random.default_rng(1)
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"c{i}.png")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 256, (32, 48, 3), dtype=np.uint8))
    calib = CalibSet(tuple(paths), "0" * 64, "test")
    fp32 = run(small_onnx, batches)
    # Labels agree with FP32 on the odd (held-back) images only: FP32 mIoU there is exactly 100.
    labels = [o[0].argmax(0) if i % 2 else rng.integers(0, 5, o.shape[2:]) for i, o in enumerate(fp32)]
    val = Validation(batches, labels, 5, 255)
    choose, held = val.split()
    assert len(choose.batches) == len(held.batches) == 4 and held.labels[0] is labels[1]
    asked = []

    def score(model, images):  # what --ray passes in: here, the local score, counted
        asked.append(len(images.batches))
        return local_score(model, images)

    config = QuantConfig(method="minmax", max_miou_drop=0.0, fallback_limit=2)
    _, _, report = quantize(small_onnx, "x" * 64, config, calib, Preprocess(mean_bgr=(0, 0, 0), input_size=(32, 48)),
                            cache_dir=tmp_path / "c", val=val, score=score)
    assert report.fp32_miou == 100.0  # measured on the held-back half, not on the images it chose with
    assert report.drop_measured_on.startswith("4 held-back --val images") and report.choose_drop_after is not None
    assert asked and set(asked) == {4}  # every candidate scored by the caller's scorer, on the choosing half


def test_validation_is_immutable(batches):
    import dataclasses

    import pytest

    val = Validation(batches, [b[0, 0] > 0 for b in batches], 5, 255)
    with pytest.raises(dataclasses.FrozenInstanceError):
        val.batches = []


def test_fallback_needs_two_val_images(small_onnx, batches):
    import pytest

    from edgeseg.errors import EdgesegError

    with pytest.raises(EdgesegError, match="at least 2 --val images"):
        Validation(batches[:1], [batches[0][0, 0] > 0], 5, 255).split()


def test_fallback_limit_zero_ranks_nothing(small_onnx, batches, monkeypatch):
    """--fallback-limit 0: the drop is measured, no layer is ranked (a ranking costs one run per layer)."""
    from edgeseg.quant import sensitivity

    cfg = QuantConfig(method="minmax", max_miou_drop=0.0, fallback_limit=0)
    p = plan(small_onnx, cfg)
    amax = collect(small_onnx, p.tensors, iter(batches), "minmax")
    amax[p.tensors[0]] *= 0.03  # over budget for sure
    fp32 = run(small_onnx, batches)
    val = Validation(batches, [o[0].argmax(0) for o in fp32], 5, 255)

    def no_ranking(*a, **k):
        raise AssertionError("ranked layers with --fallback-limit 0")

    monkeypatch.setattr(sensitivity, "isolated_ranking", no_ranking)
    _, fb = fall_back(small_onnx, cfg, amax, lambda keep: quantize_model(small_onnx, plan(small_onnx, cfg, keep), amax),
                      val, fp32, budget=0.0)
    assert fb.kept_float == [] and fb.ranking == [] and fb.drop_after == fb.drop_before > 0
