"""`tune --check`: the regression gate judged on recorded figures (fast), and end to end on the
shared tune run with a slowdown injected into the measurer (never a sleep in the product)."""

import copy
import json

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.tune.check import read_record, subjects, verdict


def report():
    rows = [{"name": "fp32 openvino", "precision": "fp32", "pipeline_ms": 80.0, "miou": 61.9, "miou_drop": 0.0},
            {"name": "nncf-int8 openvino", "precision": "int8", "pipeline_ms": 22.0, "miou": 61.7, "miou_drop": 0.2},
            {"name": "int8-cpu openvino", "precision": "int8", "pipeline_ms": 30.0, "miou": 61.8, "miou_drop": 0.1}]
    return {"candidates": rows, "chosen": {"name": "nncf-int8 openvino"}, "objective": {"max_miou_drop": 0.3},
            "protocol": {}, "machine": {}, "val": "v"}


def fresh(pick_ms=22.0, pick_miou=61.7, second_ms=30.0):
    return {"nncf-int8 openvino": {"pipeline_ms": pick_ms, "miou": pick_miou, "miou_drop": 0.2},
            "int8-cpu openvino": {"pipeline_ms": second_ms, "miou": 61.8, "miou_drop": 0.1}}


def test_gate_re_measures_pick_and_runner_up():
    assert [r["name"] for r in subjects(report())] == ["nncf-int8 openvino", "int8-cpu openvino"]


def test_unchanged_passes():
    ok, line = verdict(report(), fresh(23.0), 0.10)
    assert ok and "still the pick" in line


def test_slower_than_the_tolerance_fails_naming_the_figures():
    ok, line = verdict(report(), fresh(25.0, second_ms=40.0), 0.10)
    assert not ok and "regressed 22.00 -> 25.00 ms (+14%, tolerance 10%)" in line
    assert verdict(report(), fresh(25.0, second_ms=40.0), 0.20)[0]


def test_miou_moved_fails():
    ok, line = verdict(report(), fresh(pick_miou=61.5), 0.10)
    assert not ok and "mIoU moved 61.70 -> 61.50" in line


def test_another_pick_fails():
    ok, line = verdict(report(), fresh(23.0, second_ms=21.0), 0.10)
    assert not ok and "would pick int8-cpu openvino" in line


@pytest.mark.parametrize("content", [b"\xff\xfe", b"[]", b"{}", b"{bad"])
def test_a_record_that_is_not_a_tune_json_is_one_line(tmp_path, content):
    path = tmp_path / "tune.json"
    path.write_bytes(content)
    with pytest.raises(EdgesegError, match="--check"):
        read_record(path)


@pytest.mark.slow
def test_check_end_to_end_passes_then_fails_when_slowed_or_tampered(tuned_run, tmp_path, monkeypatch):
    import edgeseg.tune.measure as measure
    from edgeseg.tune.check import check

    _, _, out = tuned_run
    report = json.loads((out / "tune.json").read_text())
    for r in report["candidates"]:  # runner-up: FP32, far slower than the pick, so noise cannot swap them
        if r["name"] != report["chosen"]["name"] and r["precision"] != "fp32":
            r["miou_drop"] = 99.0
    record = tmp_path / "tune.json"
    record.write_text(json.dumps(report))
    # generous tolerance: this machine is shared; the unchanged case must pass on figures from one run
    result = check(record, tolerance=3.0)
    assert result.ok, result.reason
    assert {r["name"] for r in result.rows} >= {json.loads(record.read_text())["chosen"]["name"]}

    real = measure.latency

    def slowed(runners, size, protocol, frame=None):  # the target got 5x slower
        rows = real(runners, size, protocol, frame)
        return [{**r, "pipeline_ms": r["pipeline_ms"] * 5, "median_ms": r["median_ms"] * 5} for r in rows]

    monkeypatch.setattr(measure, "latency", slowed)
    slow = check(record, tolerance=3.0)
    assert not slow.ok and "pipeline latency regressed" in slow.reason
    monkeypatch.setattr(measure, "latency", real)

    tampered = copy.deepcopy(report)
    pick = next(r for r in tampered["candidates"] if r["name"] == tampered["chosen"]["name"])
    pick["miou"] += 1.0
    edited = tmp_path / "tampered.json"
    edited.write_text(json.dumps(tampered))
    bad = check(edited, tolerance=3.0)
    assert not bad.ok and "mIoU moved" in bad.reason
