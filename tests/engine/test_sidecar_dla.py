"""Engine sidecars, mismatch messages, L4T parsing and DLA fallback reports."""

import pytest

from edgeseg.bench.hardware import parse_l4t
from edgeseg.engine import sidecar
from edgeseg.engine.dla import parse_log
from edgeseg.errors import EdgesegError

ORIN_RELEASE = "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13 04:36:44 UTC 2024\n"


@pytest.fixture
def built(tmp_path):
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(b"onnx bytes")
    (tmp_path / "m.onnx.json").write_text('{"model": {"variant": "s2fpn18"}, "preprocess": {"mean_bgr": [1, 2, 3]}, '
                                          '"dataset": {"classes": ["a"]}, "embedded_preprocess": false}')
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    meta = sidecar.build_sidecar(engine_path=engine, onnx_path=onnx_path, trt_version="10.3.0.30",
                                 gpu={"name": "Orin", "compute_capability": "8.7"}, l4t="36.4.0", precision="int8",
                                 io=[{"name": "input", "mode": "input", "dtype": "FLOAT", "shape": [1, 3, 180, 240]}],
                                 options={"opt_level": 3}, build_seconds=12.5)
    sidecar.write(engine, meta)
    return engine


def test_sidecar_round_trip(built):
    meta = sidecar.read(built)
    assert meta["tensorrt"] == "10.3.0.30" and meta["jetpack"] == "6.1/6.2"
    assert meta["preprocess"]["mean_bgr"] == [1, 2, 3] and meta["model"]["variant"] == "s2fpn18"
    assert meta["provenance"]["onnx_sha256"] and meta["sha256"]
    assert built.read_bytes() == b"plan"  # the plan stays plain: metadata lives beside it


def test_matching_machine_passes(built):
    sidecar.check_compatible(built, sidecar.read(built), "10.3.0.30", {"name": "Orin", "compute_capability": "8.7"}, "36.4.0")


@pytest.mark.parametrize("trt,gpu,l4t,message", [
    ("11.0.0", {"name": "Orin", "compute_capability": "8.7"}, "36.4.0", "built with TensorRT 10.3.0.30 on Orin"),
    ("10.3.0.30", {"name": "NVIDIA H100", "compute_capability": "9.0"}, None, "this machine has TensorRT 10.3.0.30 on NVIDIA H100 \\(sm_90\\)"),
    ("10.3.0.30", {"name": "Orin", "compute_capability": "8.7"}, "36.3.0", "built on L4T 36.4.0"),
])
def test_mismatch_names_what_to_rebuild(built, trt, gpu, l4t, message):
    with pytest.raises(EdgesegError, match=message) as info:
        sidecar.check_compatible(built, sidecar.read(built), trt, gpu, l4t)
    assert "edgeseg build" in str(info.value) and "\n" not in str(info.value)


def test_missing_sidecar(tmp_path):
    (tmp_path / "x.engine").write_bytes(b"plan")
    with pytest.raises(EdgesegError, match="no sidecar"):
        sidecar.read(tmp_path / "x.engine")


def test_l4t_release_parsing():
    assert parse_l4t(ORIN_RELEASE) == "36.4.0"
    assert parse_l4t("# R35 (release), REVISION: 5.0, GCID: 35550185, BOARD: t186ref") == "35.5.0"
    assert parse_l4t("garbage") is None
    assert sidecar.jetpack_of("36.3.0") == "6.0" and sidecar.jetpack_of(None) is None


def test_dla_report_from_builder_log():
    log = """[I] [TRT] ---------- Layers Running on DLA ----------
[I] [TRT] [DlaLayer] {ForeignNode[/conv1_x/Conv.../conv5_x/conv5_x.1/relu_1/Relu]}
[I] [TRT] [DlaLayer] {ForeignNode[/apf1/lateral_low/conv/Conv.../apf1/conv_high/act/PRelu]}
[I] [TRT] ---------- Layers Running on GPU ----------
[I] [TRT] [GpuLayer] SOFTMAX: /apf1/sa/tr/tr.0/attn/Softmax
[I] [TRT] [GpuLayer] RESIZE: /Resize
""".splitlines()
    report = parse_log(log)
    assert len(report.dla) == 2 and report.fell_back == ["SOFTMAX: /apf1/sa/tr/tr.0/attn/Softmax", "RESIZE: /Resize"]
    assert report.to_dict()["summary"] == "2 DLA layer groups, 2 layers fell back to the GPU"
