"""The choice rule on recorded measurements: budget, ties, FP32 fallback."""

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.tune.choose import choose, qualifies


def row(name, ms, drop, precision="int8", order=0, miou=60.0):
    return {"name": name, "median_ms": ms, "miou_drop": drop, "miou": miou, "precision": precision, "order": order}


FP32 = row("fp32 openvino", 80.0, 0.0, "fp32", 1)


def test_fastest_within_budget_wins():
    rows = [FP32, row("nncf", 22.0, 0.17, order=7), row("bf16", 25.0, -0.03, "bf16", 2), row("cpu", 36.0, 0.1, order=5)]
    best, why = choose(rows, 0.3)
    assert best["name"] == "nncf" and "22.00 ms" in why


def test_over_budget_is_passed_over_and_named():
    rows = [FP32, row("nncf", 22.0, 0.5, order=7), row("bf16", 25.0, -0.03, "bf16", 2)]
    best, why = choose(rows, 0.3)
    assert best["name"] == "bf16" and "over the budget: nncf" in why


def test_budget_zero_keeps_only_lossless_or_better():
    rows = [FP32, row("nncf", 22.0, 0.01, order=7), row("bf16", 25.0, -0.03, "bf16", 2)]
    assert choose(rows, 0.0)[0]["name"] == "bf16"


def test_fp32_always_qualifies_and_is_the_fallback():
    ort = row("fp32 onnxruntime", 90.0, 0.4, "fp32", 0)  # float noise on another runtime is no loss chosen
    assert qualifies(ort, 0.0)
    rows = [ort, FP32, row("int8", 20.0, 2.0, order=4)]
    assert choose(rows, 0.3)[0]["name"] == "fp32 openvino"


def test_ties_go_to_smaller_drop_then_simpler_artifact():
    a, b = row("b", 30.004, 0.2, order=3), row("a", 29.996, 0.1, order=4)
    best, why = choose([a, b], 0.3)
    assert best["name"] == "a" and "tie" in why  # 30.00 == 30.00: the smaller drop
    c, d = row("c", 30.0, 0.1, order=6), row("d", 30.0, 0.1, order=2)
    assert choose([c, d], 0.3)[0]["name"] == "d"
    assert choose([d, c], 0.3)[0]["name"] == "d"  # the input order never decides


def test_unmeasured_rows_never_win_and_none_left_is_refused():
    failed = {"name": "int8", "precision": "int8", "error": "calibration failed", "order": 1}
    assert choose([failed, FP32], 0.3)[0]["name"] == "fp32 openvino"
    with pytest.raises(EdgesegError, match="no candidate"):
        choose([failed], 0.3)
    with pytest.raises(EdgesegError, match=">= 0"):
        choose([FP32], -0.1)
