"""The TensorRT-target Q/DQ graphs (FP16 scales) run the same in ONNX Runtime at its default
settings as unoptimised: Conv biases ORT would re-quantize in FP16 sit in an Add (quant/bias.py),
and no preset quantizes Concat inputs there (ORT's QLinearConcat refuses FP16 scales)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.quant import strongly_typed
from edgeseg.quant.bias import detach
from edgeseg.quant.calibrate import collect
from edgeseg.quant.config import QuantConfig, preset
from edgeseg.quant.formats import FORMATS
from edgeseg.quant.fp16 import to_fp16
from edgeseg.quant.placement import Graph, plan
from edgeseg.quant.qdq import quantize_model, sort_nodes
from edgeseg.runtime.ort import bias_requantized, mishandled, optimization_level


def _stem(bias: float = 20.0):
    """conv1 (large bias) -> relu -> maxpool -> conv2 -> prelu -> conv3: conv2's quantized input puts
    a Q after the maxpool, which ORT moves back to the relu, in reach of conv1's bias."""
    rng = np.random.default_rng(0)
    w = lambda name, *s: numpy_helper.from_array(rng.normal(0, 0.1, s).astype(np.float32), name)  # noqa: E731
    b = lambda name, v: numpy_helper.from_array(np.linspace(-v, v, 8).astype(np.float32), name)  # noqa: E731
    inits = [w("w1", 8, 4, 3, 3), b("b1", bias), w("w2", 8, 8, 3, 3), b("b2", 1.0), numpy_helper.from_array(
        np.full((8, 1, 1), 0.1, np.float32), "slope"), w("w3", 8, 8, 1, 1), b("b3", 1.0)]
    nodes = [helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", pads=[1] * 4),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1] * 4),
             helper.make_node("PRelu", ["c2", "slope"], ["a2"], name="act2"),
             helper.make_node("Conv", ["a2", "w3", "b3"], ["c3"], name="conv3"),
             helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
             helper.make_node("Conv", ["r3", "w3", "b3"], ["logits"], name="head")]
    graph = helper.make_graph(nodes, "stem", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8, 4, 4])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _batches(n=4):
    rng = np.random.default_rng(1)
    return [rng.uniform(-3, 3, (1, 4, 8, 8)).astype(np.float32) for _ in range(n)]


def _outputs(model, batches, level=None):
    options = ort.SessionOptions()
    if level:
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"input": b})[0] for b in batches])


def _quantized(model, config, batches, detached=True):
    model = strongly_typed.prepare(model, config)
    p = plan(model, config)
    amax = collect(model, p.tensors, iter(batches), "minmax")
    if detached:
        return strongly_typed.build(model, p, amax, config)
    q = quantize_model(model, p, amax, config.per_channel, FORMATS[config.dtype], np.float16)
    return sort_nodes(to_fp16(q))  # the graph edgeseg wrote before (bias inside the Conv)


def test_only_the_convs_ort_requantizes_are_found():
    config = QuantConfig(dtype="int8")
    model = strongly_typed.prepare(_stem(), config)
    amax = collect(model, plan(model, config).tensors, iter(_batches()), "minmax")
    q = quantize_model(model, plan(model, config), amax)
    names = [q.graph.node[i].name for i in bias_requantized(q)]
    assert names == ["conv1"]  # conv2 feeds a PRelu, conv3 a Relu into the float head
    detach(q)
    assert bias_requantized(q) == []
    add = next(n for n in q.graph.node if n.op_type == "Add")
    conv1 = next(n for n in q.graph.node if n.name == "conv1")
    assert len(conv1.input) == 2 and add.input[0] == conv1.output[0] and add.output[0] == "c1"
    assert "b1" not in {i.name for i in q.graph.initializer}
    assert list(next(i for i in q.graph.initializer if i.name == add.input[1]).dims) == [1, 8, 1, 1]


@pytest.mark.parametrize("dtype", ["int8", "fp8"])
def test_fp16_scale_graph_runs_the_same_at_default_settings(dtype):
    config, batches = QuantConfig(dtype=dtype, method="minmax"), _batches()
    old = _quantized(_stem(), config, batches, detached=False)
    assert mishandled(old) and optimization_level(old) == "ORT_DISABLE_ALL"
    wrong = np.abs(_outputs(old, batches) - _outputs(old, batches, "ORT_DISABLE_ALL")).max()
    assert wrong > 0.1  # conv1's bias overflowed in FP16 (outputs are ~1)
    new = _quantized(_stem(), config, batches)
    assert mishandled(new) is None and optimization_level(new) == "ORT_ENABLE_ALL"
    onnx.checker.check_model(new, full_check=True)
    reference = _outputs(new, batches, "ORT_DISABLE_ALL")
    np.testing.assert_allclose(_outputs(new, batches), reference, atol=1e-6)
    np.testing.assert_allclose(reference, _outputs(old, batches, "ORT_DISABLE_ALL"), atol=1e-6)  # same computation


def test_no_preset_quantizes_concat_inputs_with_an_fp16_remainder(small_onnx, batches):
    g = Graph(small_onnx)
    naive = preset("naive")
    read = {g.nodes[i].op_type for cs in plan(small_onnx, naive).activations.values() for i, _ in cs}
    assert "Concat" not in read and {"Softmax", "Sigmoid", "MatMul"} <= read
    fp32_rest = {g.nodes[i].op_type for cs in plan(small_onnx, naive.with_(fp16_rest=False)).activations.values()
                 for i, _ in cs}
    assert "Concat" in fp32_rest  # FP32 scales: QLinearConcat takes them, the int8 concat stays
    q = _quantized(small_onnx, naive, batches)
    assert mishandled(q) is None
    out = _outputs(q, batches)  # default settings: loads (no INVALID_GRAPH from QLinearConcat) and agrees
    assert (out.argmax(1) == _outputs(q, batches, "ORT_DISABLE_ALL").argmax(1)).mean() > 0.995
