"""The accuracy-aware fallback finds the layer INT8 hurts and keeps it in float."""

from edgeseg.quant.calibrate import collect
from edgeseg.quant.config import QuantConfig
from edgeseg.quant.placement import Graph, plan
from edgeseg.quant.qdq import quantize_model
from edgeseg.quant.sensitivity import Validation, fall_back, run


def test_fallback_recovers_a_sabotaged_layer(small_onnx, batches):
    cfg = QuantConfig(method="minmax", max_miou_drop=0.3)
    p = plan(small_onnx, cfg)
    amax = collect(small_onnx, p.tensors, iter(batches), "minmax")
    g = Graph(small_onnx)
    # Clip one conv input to 3% of its range: a localized INT8 failure, as a bad calibration makes.
    victim = next(t for t in p.tensors if g.op_of(t) == "PRelu")
    amax[victim] *= 0.03
    fp32 = run(small_onnx, batches)
    val = Validation(batches, [o[0].argmax(0) for o in fp32], num_classes=5, ignore_index=255, fp32_logits=fp32)

    def build(keep):
        return quantize_model(small_onnx, plan(small_onnx, cfg, keep), amax)

    _, first = fall_back(small_onnx, cfg, amax, build, val, budget=0.3)
    assert first.drop_before > 1.0
    assert first.drop_after <= 0.3 and first.kept_float
    victim_readers = {g.nodes[i].name for i, _ in p.activations[victim]}
    assert victim_readers <= set(first.kept_float)
    assert first.ranking[0][0] == ", ".join(sorted(victim_readers))  # ranked worst
    _, again = fall_back(small_onnx, cfg, amax, build, val, budget=0.3)
    assert again.kept_float == first.kept_float  # deterministic


def test_within_budget_keeps_everything_quantized(small_onnx, batches):
    cfg = QuantConfig(method="minmax")
    p = plan(small_onnx, cfg)
    amax = collect(small_onnx, p.tensors, iter(batches), "minmax")
    fp32 = run(small_onnx, batches)
    val = Validation(batches, [o[0].argmax(0) for o in fp32], 5, 255, fp32)
    _, fb = fall_back(small_onnx, cfg, amax, lambda keep: quantize_model(small_onnx, plan(small_onnx, cfg, keep), amax),
                      val, budget=100.0)
    assert fb.kept_float == [] and fb.drop_after == fb.drop_before
