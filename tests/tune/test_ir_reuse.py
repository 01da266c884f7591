"""tune's OpenVINO IR builds are reused by key, and rebuilt when their files were damaged (issue 29, 28 B4)."""

import numpy as np
import pytest


@pytest.fixture
def conv_onnx(tmp_path):
    """A 1x1 convolution ONNX model carrying an edgeseg contract (what tune converts to IR)."""
    pytest.importorskip("openvino")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeseg.artifacts import FORMAT, set_onnx_metadata
    from edgeseg.data.contract import DatasetInfo, Preprocess

    camvid = DatasetInfo.named("camvid")
    weight = numpy_helper.from_array(np.arange(33, dtype=np.float32).reshape(11, 3, 1, 1) / 33, "w")
    graph = helper.make_graph([helper.make_node("Conv", ["input", "w"], ["logits"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, 8, 8])],
                              [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    set_onnx_metadata(model, {
        "format": FORMAT, "kind": "onnx", "stage": "simplified", "precision": "fp32",
        "preprocess": Preprocess.official(camvid, (8, 8)).to_dict(), "dataset": camvid.to_dict(),
        "io": {"input": {"name": "input", "dtype": "float32", "shape": [1, 3, 8, 8], "layout": "NCHW"},
               "output": {"name": "logits", "dtype": "float32", "shape": [1, 11, 8, 8], "kind": "logits"}},
        "embedded_preprocess": False})
    path = tmp_path / "m.fp32.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.slow  # OpenVINO converts and saves the IR twice (~8 s here)
def test_a_rerun_reuses_the_ir_and_rebuilds_a_tampered_bin(conv_onnx):
    from edgeseg.artifacts import metadata_dict, sha256_file
    from edgeseg.tune.build import ir_for

    xml = ir_for(conv_onnx, None)
    weights, made = xml.with_suffix(".bin"), xml.stat().st_mtime_ns
    good = sha256_file(weights)
    assert ir_for(conv_onnx, None) == xml and xml.stat().st_mtime_ns == made  # same key: reused

    data = weights.read_bytes()
    weights.write_bytes(data[:-4] + bytes(4))  # the weights altered behind the sidecar's back
    assert ir_for(conv_onnx, None) == xml
    assert sha256_file(weights) == good and metadata_dict(xml)["bin_sha256"] == good  # rebuilt, not trusted
