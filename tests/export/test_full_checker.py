"""Every ONNX the export writes passes `onnx.checker.check_model(path, full_check=True)`, for every
precision and I/O option (the FP16 converter used to append its input Cast after its readers)."""

from pathlib import Path

import onnx
import pytest

from edgeseg.quant.graph_order import topological_sort
from edgeseg.export.options import export_options as options
from edgeseg.export.pipeline import run_export

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier

SIZE = (64, 96)  # small: the checks are about graph structure, not accuracy
CALIB = Path(__file__).resolve().parents[2] / "calib" / "camvid-demo.txt"
INT8 = {"calib": str(CALIB), "calib_limit": 4}
CASES = {
    "fp32": {},
    "fp16": {"precision": "fp16"},
    "fp16-io16": {"precision": "fp16", "fp16_io": True},
    "fp16-bgr8in-labels": {"precision": "fp16", "embed_preprocess": True, "argmax": "uint8"},
    "fp32-labels": {"argmax": "int32"},
    "int8": {"precision": "int8", **INT8},
    "int8-bgr8in": {"precision": "int8", "embed_preprocess": True, **INT8},
    "dynamic-fp16": {"precision": "fp16", "dynamic": True},
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fullcheck")


@pytest.mark.parametrize("case", list(CASES))
def test_every_written_onnx_passes_the_full_checker(trained_ckpt, work, case):
    result = run_export(trained_ckpt, work, options(input_size=SIZE, num_samples=1, **CASES[case]))
    written = [s.path for s in result.stages if s.path is not None and s.path.suffix == ".onnx"]
    assert result.final in written
    for path in written:
        onnx.checker.check_model(str(path), full_check=True)


def test_topological_sort_moves_a_late_producer_first():
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    nodes = [helper.make_node("Relu", ["a"], ["y"], name="reader"), helper.make_node("Neg", ["x"], ["a"], name="maker")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(onnx.checker.ValidationError):
        onnx.checker.check_model(model, full_check=True)
    topological_sort(model.graph)
    assert [n.name for n in model.graph.node] == ["maker", "reader"]
    onnx.checker.check_model(model, full_check=True)
