"""The choice rules on recorded measurements: budgets, --min-fps, --max-class-drop, ties, the
Pareto front; the pipeline figure (model + host class map) decides, not the model alone."""

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.tune.choose import Objective, choose, pareto, qualifies, runner_up

BUDGET = Objective(0.3)


def row(name, ms, drop, precision="int8", order=0, miou=None, class_drop=None, model_ms=None, tail=None):
    r = {"name": name, "pipeline_ms": ms, "median_ms": model_ms or ms * 0.8, "miou_drop": drop,
         "miou": 61.9 - drop if miou is None else miou, "precision": precision, "order": order, "class_drop": class_drop}
    return {**r, "tail": tail} if tail else r


FP32 = row("fp32 openvino", 80.0, 0.0, "fp32", 1)


def test_fastest_within_budget_wins():
    rows = [FP32, row("nncf", 22.0, 0.17, order=7), row("bf16", 25.0, -0.03, "bf16", 2), row("cpu", 36.0, 0.1, order=5)]
    best, why = choose(rows, BUDGET)
    assert best["name"] == "nncf" and "22.00 ms pipeline" in why


def test_pipeline_not_model_only_decides():
    a = row("logits", 30.0, 0.1, model_ms=20.0)  # fast model, slow host argmax
    b = row("argmax", 24.0, 0.1, model_ms=22.0, tail="argmax")
    assert choose([FP32, a, b], BUDGET)[0]["name"] == "argmax"


def test_over_budget_is_passed_over_and_named():
    rows = [FP32, row("nncf", 22.0, 0.5, order=7), row("bf16", 25.0, -0.03, "bf16", 2)]
    best, why = choose(rows, BUDGET)
    assert best["name"] == "bf16" and "over the budget: nncf" in why


def test_budget_zero_keeps_only_lossless_or_better():
    rows = [FP32, row("nncf", 22.0, 0.01, order=7), row("bf16", 25.0, -0.03, "bf16", 2)]
    assert choose(rows, Objective(0.0))[0]["name"] == "bf16"


def test_fp32_always_qualifies_unless_its_tail_loses_accuracy():
    ort = row("fp32 onnxruntime", 90.0, 0.4, "fp32", 0)  # float noise on another runtime is no loss chosen
    assert qualifies(ort, Objective(0.0))
    assert choose([ort, FP32, row("int8", 20.0, 2.0, order=4)], BUDGET)[0]["name"] == "fp32 openvino"
    lowres = row("fp32 openvino argmax-lowres", 60.0, 0.4, "fp32", 9, tail="argmax-lowres")
    assert not qualifies(lowres, BUDGET) and choose([FP32, lowres], BUDGET)[0]["name"] == "fp32 openvino"


def test_ties_go_to_smaller_drop_then_simpler_artifact():
    a, b = row("b", 30.004, 0.2, order=3), row("a", 29.996, 0.1, order=4)
    best, why = choose([a, b], BUDGET)
    assert best["name"] == "a" and "tie" in why
    c, d = row("c", 30.0, 0.1, order=6), row("d", 30.0, 0.1, order=2)
    assert choose([c, d], BUDGET)[0]["name"] == "d"
    assert choose([d, c], BUDGET)[0]["name"] == "d"  # the input order never decides


def test_unmeasured_rows_never_win_and_none_left_is_refused():
    failed = {"name": "int8", "precision": "int8", "error": "calibration failed", "order": 1}
    assert choose([failed, FP32], BUDGET)[0]["name"] == "fp32 openvino"
    with pytest.raises(EdgesegError, match="no candidate was measured"):
        choose([failed], BUDGET)


ROWS = [row("fp32", 80.0, 0.0, "fp32", 0), row("bf16", 40.0, 0.05, "bf16", 1), row("int8", 25.0, 0.2, order=2),
        row("lowres", 20.0, 0.6, order=3, tail="argmax-lowres")]  # 12.5, 25, 40, 50 FPS


def test_min_fps_between_slowest_and_fastest_picks_the_most_accurate_reaching_it():
    best, why = choose(ROWS, Objective(min_fps=30.0))
    assert best["name"] == "int8" and "most accurate at >= 30 FPS" in why
    assert choose(ROWS, Objective(min_fps=20.0))[0]["name"] == "bf16"
    assert choose(ROWS, Objective(min_fps=10.0))[0]["name"] == "fp32"
    assert choose(ROWS, Objective(min_fps=45.0))[0]["name"] == "lowres"  # the budget is the rate here


def test_min_fps_nobody_reaches_is_refused_with_the_best_rate():
    with pytest.raises(EdgesegError, match=r"--min-fps 60: no candidate reaches it here; the fastest is lowres at 50.0 FPS"):
        choose(ROWS, Objective(min_fps=60.0))


def test_max_class_drop_bounds_the_worst_class():
    rows = [FP32, row("nncf", 22.0, 0.17, order=7, class_drop=3.4), row("bf16", 25.0, 0.0, "bf16", 2, class_drop=0.2)]
    assert choose(rows, BUDGET)[0]["name"] == "nncf"
    best, why = choose(rows, Objective(0.3, max_class_drop=1.0))
    assert best["name"] == "bf16" and "class 3.40" in why
    unknown = row("x", 10.0, 0.0, class_drop=None)  # no per-class figure: cannot be shown within
    assert not qualifies(unknown, Objective(0.3, max_class_drop=1.0))


def test_pareto_front_and_runner_up():
    front = [r["name"] for r in pareto(ROWS + [row("slow-bad", 90.0, 1.0)])]
    assert front == ["lowres", "int8", "bf16", "fp32"]
    assert runner_up(ROWS, BUDGET, "int8")["name"] == "bf16"
