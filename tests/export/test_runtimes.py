"""A quantized artifact is verified on each runtime here that will run it (issue 28 A2): the verdict
is the principle (no runtime further from the FP32 model than ONNX Runtime), on whatever CPU runs this."""

from types import SimpleNamespace

import numpy as np
import pytest

from edgeseg.errors import EdgesegError
from edgeseg.export import parity, runtimes
from edgeseg.platform import hardware


def test_the_runtimes_are_the_profiles():
    assert runtimes.other_runtimes("cpu", "int8") == ("openvino",)
    assert runtimes.other_runtimes(None, "int8") == ("openvino",)  # run and bench default to the cpu profile
    assert runtimes.other_runtimes("cuda", "int8") == ()  # engines are verified when built
    assert runtimes.other_runtimes(None, "fp8") == ()  # no CPU runs FP8


def _ctx(batches, min_agreement=None):
    return SimpleNamespace(options=SimpleNamespace(device=None, verify=SimpleNamespace(
        limits=(min_agreement, None), min_agreement=min_agreement)), sizes=[(4, 4)], batches=lambda size: batches)


class _Runner:
    """Gives back `answer` for every batch (what a runtime computed)."""

    def __init__(self, answer):
        self.answer = answer

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def infer(self, batch):
        return self.answer


def _verify(monkeypatch, got, min_agreement=None):
    ref = np.zeros((1, 3, 4, 4), np.float32)
    ref[:, 1] = 1.0  # every pixel class 1
    monkeypatch.setattr(runtimes.runtime, "installed", lambda name: True)
    monkeypatch.setattr(runtimes.runtime, "open_runner", lambda path, name: _Runner(got))
    ort_check = parity.compare([ref], [ref], "int8")
    return runtimes.verify_elsewhere(_ctx([ref], min_agreement), "m.onnx", "int8", "int8", {(4, 4): [ref]},
                                     {(4, 4): [ref]}, ort_check)


def test_a_runtime_further_from_the_parent_than_onnxruntime_is_refused_in_one_line(monkeypatch):
    wrong = np.zeros((1, 3, 4, 4), np.float32)
    wrong[:, 1] = 1.0
    wrong[0, 2, 0, :] = 2.0  # 4 of 16 pixels another class: 75 %, ONNX Runtime 100 %
    records = {"onnxruntime": {"agreement": 1.0, "ok": True}, **_verify(monkeypatch, wrong)}
    rec = records["openvino"]
    assert rec["agreement"] == 0.75 and rec["agreement_with_onnxruntime"] == 0.75 and not rec["ok"]
    assert rec["isa"] == list(hardware.this_isa())  # bound to the CPU kind it ran on
    with pytest.raises(EdgesegError) as info:
        runtimes.judge(records, None, False, "m.int8.onnx")
    line = str(info.value)
    assert "\n" not in line and "m.int8.onnx on openvino" in line and "--allow-mismatch" in line and "tune" in line
    bad = runtimes.judge(records, None, True, "m.int8.onnx")  # published, marked
    assert len(bad) == 1 and records["openvino"]["mismatch"] is True


def test_the_same_answer_passes_and_min_agreement_overrides_the_gap(monkeypatch):
    ref = np.zeros((1, 3, 4, 4), np.float32)
    ref[:, 1] = 1.0
    assert _verify(monkeypatch, ref)["openvino"]["ok"]
    wrong = ref.copy()
    wrong[0, 2, 0, :] = 2.0
    assert _verify(monkeypatch, wrong, min_agreement=0.7)["openvino"]["ok"]  # the user's stated limit


def test_a_drop_beyond_onnxruntimes_fails_and_each_row_keeps_its_own_drop():
    records = {"onnxruntime": {"agreement": 0.99, "ok": True, "miou": 61.4},
               "openvino": {"agreement": 0.99, "ok": True, "miou": 60.5}}
    with pytest.raises(EdgesegError, match="mIoU drop 1.00"):
        runtimes.judge(records, 61.5, False, "m.onnx")
    assert (records["onnxruntime"]["drop"], records["openvino"]["drop"]) == (0.1, 1.0)


def test_a_runtime_not_installed_is_said_not_verified(monkeypatch):
    monkeypatch.setattr(runtimes.runtime, "installed", lambda name: False)
    ref = np.zeros((1, 3, 4, 4), np.float32)
    got = runtimes.verify_elsewhere(_ctx([ref]), "m.onnx", "int8", "int8", {}, {}, parity.compare([ref], [ref], "int8"))
    assert got == {"openvino": {"verified": False, "reason": "openvino is not installed here"}}
    assert runtimes.judge(got, None, False, "m.onnx") == []


def test_a_verification_from_another_cpu_kind_is_said_to_be_one():
    here = runtimes.machine()
    assert runtimes.bound_elsewhere({"openvino": {**here}}) is None
    other = runtimes.bound_elsewhere({"openvino": {"cpu": "AMD EPYC", "isa": ["AVX2"]}})
    assert "AMD EPYC" in other and "not on this CPU" in other


@pytest.mark.slow
def test_the_int8_export_is_verified_on_each_runtime_that_will_run_it_on_this_cpu(tmp_path, capsys):
    """The principle on whatever CPU runs the suite (AVX2, VNNI, AMX; ONEDNN_MAX_CPU_ISA=AVX2 too):
    the trained demo model's INT8 export passes on every installed runtime of the cpu profile,
    each record naming this CPU's ISA, and the artifact gives the same answer there."""
    import json

    from edgeseg import runtime
    from edgeseg.cli.main import main
    from paths import REPO

    demo = REPO / "edgeseg" / "assets" / "camvid-demo"
    code = main(["export", str(demo / "s2fpn18_camvid_half.pth"), "-o", str(tmp_path), "--input-size", "64x96",
                 "--precision", "int8", "--calib", str(REPO / "calib" / "camvid-demo.txt"), "--num-samples", "2",
                 "--samples", str(demo / "val")])
    err = capsys.readouterr().err
    assert code == 0, err
    (sidecar,) = tmp_path.glob("*.int8.onnx.json")
    records = json.loads(sidecar.read_text())["verification"]["checks"]["runtimes"]
    assert set(records) == {"onnxruntime", *runtimes.other_runtimes(None, "int8")}
    for name, rec in records.items():
        if not runtime.installed(name):
            assert rec["verified"] is False
            continue
        assert rec["ok"] and rec["isa"] == list(hardware.this_isa()), (name, rec)
    if runtime.installed("openvino"):
        assert records["openvino"]["agreement"] >= records["openvino"]["min_agreement"]
    ort = records["onnxruntime"]  # "default settings" measured: the optimised run against the ops' own meaning
    assert ort["optimization"] == "ORT_DISABLE_ALL" or ort["agreement_with_unoptimised"] >= 0.99


def test_the_budget_holds_on_every_runtime(caplog):
    from edgeseg.export.quantized_stage import Quantized

    stage = Quantized.__new__(Quantized)
    stage.config, stage.fail_on_budget = SimpleNamespace(max_miou_drop=0.3), False
    records = {"onnxruntime": {"drop": 0.1}, "openvino": {"drop": 0.6}}
    with caplog.at_level("WARNING"):
        stage._budget_per_runtime(records)
    assert "--max-miou-drop 0.3 missed on openvino 0.60" in caplog.text
    stage.fail_on_budget = True
    with pytest.raises(EdgesegError, match="--fail-on-budget: --max-miou-drop 0.3 missed on openvino"):
        stage._budget_per_runtime(records)
    stage._budget_per_runtime({"onnxruntime": {"drop": 0.1}, "openvino": {"drop": 0.2}})  # within: silent
