"""The parser check every export stage goes through: what it records, and that a parser error fails."""

import pytest

import edgeseg.engine.flavors as flavors
from edgeseg.engine.parse_check import check_stage, cpu_target_reason, parse_onnx
from edgeseg.errors import EdgesegError

HAS_PARSER = bool(flavors.importable())
needs_parser = pytest.mark.skipif(not HAS_PARSER, reason="neither TensorRT nor TensorRT-RTX is installed: "
                                                         "pip install 'edgeseg[rtx]'")


def _model(path, op="Relu", domain=None):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node(op, ["input"], ["logits"], name="n0", domain=domain)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, 8, 8])])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path


@needs_parser
def test_a_parsed_stage_is_recorded(tmp_path):
    report = check_stage(_model(tmp_path / "m.onnx"), "simplified")
    assert report["ok"] and report["layers"] == 1 and (report["quantize"], report["dequantize"]) == (0, 0)
    assert report["parser"] in ("TensorRT", "TensorRT-RTX") and report["summary"].endswith("1 layers, 0 Q / 0 DQ")


@needs_parser
def test_a_parser_error_fails_the_stage_with_its_message(tmp_path):
    path = _model(tmp_path / "m.onnx", op="EdgesegUnknownOp", domain="com.example")
    assert parse_onnx(path).errors
    with pytest.raises(EdgesegError, match=r"^io: TensorRT(-RTX)? \S+ cannot parse this ONNX: .*EdgesegUnknownOp"):
        check_stage(path, "io")


def test_without_a_parser_nothing_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(flavors, "importable", lambda: [])
    assert check_stage(_model(tmp_path / "m.onnx"), "raw") is None


def test_cpu_target_is_read_from_the_graph(tmp_path):
    import onnx

    from test_rtx import _cpu_preset_like

    assert cpu_target_reason(onnx.load(str(_cpu_preset_like(tmp_path / "c.onnx")))).startswith("the CPU-preset")
    assert cpu_target_reason(onnx.load(str(_model(tmp_path / "m.onnx")))) is None
