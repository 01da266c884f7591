"""OrtRunner on tiny hand-built ONNX models: dtypes, outputs, metadata, and its errors."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.errors import EdgesegError
from edgeseg.runtime.onnx_runner import OrtRunner

from tiny import tiny_onnx

W = np.random.default_rng(0).normal(size=(4, 3, 1, 1)).astype(np.float32)


def conv_model(path, dtype=TensorProto.FLOAT, labels=False):
    """1x1 conv 3 -> 4 channels (float32 or float16 throughout), optionally argmax'd to int64 labels."""
    np_dtype = np.float16 if dtype == TensorProto.FLOAT16 else np.float32
    nodes = [helper.make_node("Conv", ["input", "w"], ["logits"])]
    out = helper.make_tensor_value_info("logits", dtype, [None, 4, None, None])
    if labels:
        nodes.append(helper.make_node("ArgMax", ["logits"], ["labels"], axis=1, keepdims=0))
        out = helper.make_tensor_value_info("labels", TensorProto.INT64, [None, None, None])
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("input", dtype, [None, 3, None, None])],
                              [out], [numpy_helper.from_array(W.astype(np_dtype), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def reference(x):
    return np.einsum("kc,nchw->nkhw", W[:, :, 0, 0], x.astype(np.float32))


def test_float32_logits(tmp_path):
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 7)).astype(np.float32)
    with OrtRunner(conv_model(tmp_path / "m.onnx")) as runner:
        out = runner.infer(x.astype(np.float64))  # cast to the model's dtype, not rejected
        spec = runner.io_spec
    assert out.dtype == np.float32 and out.shape == (2, 4, 5, 7)
    np.testing.assert_allclose(out, reference(x), rtol=1e-5, atol=1e-5)
    assert (spec.input_dtype, spec.input_layout, spec.output) == ("float32", "NCHW", "logits")
    assert spec.input_shape == (None, 3, None, None)


def test_float16_model_takes_float32_and_gives_float32(tmp_path):
    x = np.random.default_rng(2).normal(size=(1, 3, 4, 4)).astype(np.float32)
    with OrtRunner(conv_model(tmp_path / "m16.onnx", TensorProto.FLOAT16)) as runner:
        out = runner.infer(x)
        assert runner.io_spec.input_dtype == "float16"
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, reference(x), rtol=1e-2, atol=1e-2)


def test_label_output(tmp_path):
    x = np.random.default_rng(3).normal(size=(1, 3, 6, 6)).astype(np.float32)
    with OrtRunner(conv_model(tmp_path / "lab.onnx", labels=True)) as runner:
        out = runner.infer(x)
        assert runner.io_spec.output == "labels"
    assert out.shape == (1, 6, 6) and np.issubdtype(out.dtype, np.integer)
    np.testing.assert_array_equal(out, reference(x).argmax(1))


def test_metadata_from_sidecar_and_from_the_model(tmp_path):
    path = tiny_onnx(tmp_path / "t.onnx")
    assert OrtRunner(path).metadata["dataset"]["name"] == "camvid"
    path.with_name("t.onnx.json").unlink()  # the copy inside metadata_props still travels with the model
    assert OrtRunner(path).metadata["preprocess"]["channel_order"] == "RGB"


def test_threads_are_recorded(tmp_path):
    runner = OrtRunner(conv_model(tmp_path / "m.onnx"), threads=2)
    assert "2 threads" in runner.description
    with runner:
        assert runner.session.get_session_options().intra_op_num_threads == 2


def test_infer_before_activate_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="before activate"):
        OrtRunner(conv_model(tmp_path / "m.onnx")).infer(np.zeros((1, 3, 2, 2), np.float32))


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(EdgesegError, match="no such ONNX model"):
        OrtRunner(tmp_path / "nope.onnx").activate()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00 definitely not protobuf")
    with pytest.raises(EdgesegError, match="bad.onnx: ONNX Runtime cannot load it"):
        OrtRunner(bad).activate()
    with pytest.raises(EdgesegError, match="not a readable ONNX model"):
        OrtRunner(bad).metadata


def test_provider_errors(tmp_path):
    import onnxruntime as ort

    with pytest.raises(EdgesegError, match="unknown ONNX Runtime provider 'gpu'"):
        OrtRunner(tmp_path / "m.onnx", provider="gpu")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA provider is available here; the unavailable-provider message cannot be shown")
    with pytest.raises(EdgesegError, match="provider cuda .* is not available here"):
        OrtRunner(conv_model(tmp_path / "m.onnx"), provider="cuda").activate()
