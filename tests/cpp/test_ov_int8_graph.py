"""cpp/src/ov_int8_graph.cpp: on a CPU without VNNI (here AVX2, through ONEDNN_MAX_CPU_ISA) edgeseg-cpp
compiles the INT8 ONNX as the Python runner does, weights in float, so `segment` still equals `predict`
(the native-ISA case, activations only, is test_parity's int8 case)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import DEMO, run_cpp
from edgeseg.platform import hardware
from test_cpp_parity import assert_same_pictures

pytestmark = pytest.mark.slow


def test_segment_equals_predict_on_avx2_kernels(edgeseg_cpp, artifacts, tmp_path, monkeypatch):
    if "AVX2" not in hardware.isa_summary(hardware.this_cpu_flags()):
        pytest.skip("needs an x86 CPU with AVX2 (ONEDNN_MAX_CPU_ISA=AVX2 runs its kernels)")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # both programs, each in a fresh process: oneDNN reads it once
    images = sorted((DEMO / "val").glob("*.png"))[:3]
    model = artifacts["int8"]
    proc = run_cpp(edgeseg_cpp, "segment", model, *images, "-o", tmp_path / "cpp")
    assert proc.returncode == 0, proc.stderr
    assert "weights run in float" in proc.stderr
    cli = "import sys; from edgeseg.cli.main import main; sys.exit(main(sys.argv[1:]))"
    py = subprocess.run([sys.executable, "-c", cli, "predict", str(model), *map(str, images),
                         "-o", str(tmp_path / "py"), "--backend", "openvino"],
                        capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert py.returncode == 0, py.stderr
    assert_same_pictures(tmp_path / "cpp", tmp_path / "py", images)


def test_an_int8_ir_of_our_graph_is_refused_without_vnni(edgeseg_cpp, tmp_path, monkeypatch):
    """As the Python runner refuses it: such an IR keeps int8 weights, which saturate there; NNCF's IR
    and the same IR on a CPU with VNNI run."""
    import openvino as ov

    from edgeseg.artifacts import sha256_file
    from test_refusals import IMAGE, assert_refused
    from tiny import tiny_onnx

    onnx = tiny_onnx(tmp_path / "m.int8.onnx")
    xml = tmp_path / "m.openvino-int8.xml"
    ov.save_model(ov.convert_model(str(onnx)), str(xml))
    meta = {**json.loads(onnx.with_name("m.int8.onnx.json").read_text()), "kind": "openvino-ir", "stage": "openvino",
            "precision": "int8", "sha256": sha256_file(xml), "bin_sha256": sha256_file(xml.with_suffix(".bin")),
            "provenance": {"parent": {"path": str(onnx)}}}
    side = xml.with_name(xml.name + ".json")
    side.write_text(json.dumps(meta))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    if "AVX2" in hardware.this_isa():
        assert_refused(run_cpp(edgeseg_cpp, "segment", xml, IMAGE, "-o", tmp_path / "out"),
                       "runs wrong on this CPU without VNNI", "run m.int8.onnx instead", "edgeseg tune")
        assert not (tmp_path / "out").exists()
    side.write_text(json.dumps({**meta, "stage": "nncf"}))
    assert run_cpp(edgeseg_cpp, "segment", xml, IMAGE, "-o", tmp_path / "nncf").returncode == 0
    side.write_text(json.dumps(meta))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI")
    assert run_cpp(edgeseg_cpp, "segment", xml, IMAGE, "-o", tmp_path / "vnni").returncode == 0
