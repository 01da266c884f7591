"""FP8 (E4M3) export of the trained CamVid checkpoint through the CLI: accuracy on all of
camvid-half val (ONNX Runtime CPU executes FP8 Q/DQ), E4M3 Q/DQ types, full ONNX checker,
TensorRT-RTX parse and AOT build for compute capability 8.9 and 12.0."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from edgeseg.cli.main import main
from edgeseg.data.calibset import make_manifest

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier


@pytest.fixture(scope="module")
def fp8_export(tmp_path_factory, trained_ckpt, camvid_root):
    out = tmp_path_factory.mktemp("fp8")
    manifest = out / "train-40.txt"
    make_manifest(camvid_root, "camvid", "train", 40, 0, manifest)
    code = main(["export", str(trained_ckpt), "-o", str(out), "--input-size", "180x240", "--precision", "fp8",
                 "--calib", str(manifest), "--calib-data", str(camvid_root), "--val", f"{camvid_root}:val"])
    assert code == 0
    final = out / "s2fpn18_180x240.fp8.onnx"
    return {"path": final, "report": json.loads(Path(str(final) + ".quant.json").read_text())}


def test_fp8_within_budget_on_val(fp8_export):
    report = fp8_export["report"]
    assert report["dtype"] == "fp8" and report["float_compute"] == "fp16" and report["opset"] >= 19
    assert report["fp32_miou"] == pytest.approx(61.433, abs=0.01)
    assert report["drop_after"] <= 0.3 and report["quantized_layers"] > 100
    assert not Path(str(fp8_export["path"]) + ".calib.cache").exists()  # int8 only
    meta = json.loads(Path(str(fp8_export["path"]) + ".json").read_text())
    assert meta["precision"] == "fp8"


def test_fp8_graph_types(fp8_export, graph_types):
    float_compute_types, _ = graph_types
    onnx.checker.check_model(str(fp8_export["path"]), full_check=True)
    model = onnx.load(str(fp8_export["path"]))
    inits = {i.name: i for i in model.graph.initializer}
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert {inits[n.input[2]].data_type for n in qdq} == {TensorProto.FLOAT8E4M3FN}
    assert {inits[n.input[1]].data_type for n in qdq} == {TensorProto.FLOAT16}
    assert all(not numpy_helper.to_array(inits[n.input[2]]).astype(np.float32).any() for n in qdq)
    weights = [n for n in qdq if n.input[0] in inits]
    assert len(weights) > 100 and {inits[n.input[0]].data_type for n in weights} == {TensorProto.FLOAT8E4M3FN}
    compute = float_compute_types(model)
    assert all(t == {TensorProto.FLOAT16} for t in compute.values()), compute


def test_fp8_tensorrt_rtx_builds_for_ada_and_blackwell(fp8_export, rtx_build):
    result = rtx_build(fp8_export["path"], ("SM89", "SM120"))
    assert result["errors"] == [] and result["built"]
    ops = [n.op_type for n in onnx.load(str(fp8_export["path"]), load_external_data=False).graph.node]
    assert result["layers"]["QUANTIZE"] == ops.count("QuantizeLinear")
