"""In-graph preprocessing and argmax on a tiny model, checked against Python preprocessing."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from edgeseg.data.contract import Preprocess
from edgeseg.export.io_wrap import embed_argmax, embed_preprocess


def tiny_model():
    w = np.random.default_rng(0).normal(size=(5, 3, 1, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["logits"])], "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 4, 6])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5, 4, 6])],
        [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_embedded_matches_python_preprocessing():
    pre = Preprocess(mean_bgr=(10.0, 20.0, 30.0), std_bgr=(2.0, 4.0, 8.0))
    img = np.random.default_rng(1).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    plain = run(tiny_model(), pre.apply(img)[None])
    wrapped = tiny_model()
    embed_preprocess(wrapped, pre)
    embed_argmax(wrapped, "uint8")
    onnx.checker.check_model(wrapped)
    labels = run(wrapped, img[None])
    assert labels.dtype == np.uint8 and labels.shape == (1, 4, 6)
    np.testing.assert_array_equal(labels, plain.argmax(1))


def test_bgr_order_skips_gather():
    pre = Preprocess(mean_bgr=(1.0, 2.0, 3.0), channel_order="BGR")
    wrapped = tiny_model()
    embed_preprocess(wrapped, pre)
    assert "Gather" not in {n.op_type for n in wrapped.graph.node}
    img = np.full((4, 6, 3), 7, np.uint8)
    np.testing.assert_allclose(run(wrapped, img[None]), run(tiny_model(), pre.apply(img)[None]), rtol=1e-6)
