"""Q/DQ placement follows TensorRT's rules; the written model is symmetric int8 and runs."""

from collections import Counter

import numpy as np
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from edgeseg.quant.calibrate import Histogram, collect
from edgeseg.quant.config import QuantConfig, preset
from edgeseg.quant.placement import Graph, plan
from edgeseg.quant.qdq import quantize_model
from edgeseg.quant.trt_cache import cache_text, parse_cache


def run(model, batches):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"input": b})[0] for b in batches])


def consumers_of_quantized(model):
    g = Graph(model)
    out = Counter()
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear":
            for i, _ in g.consumers[n.output[0]]:
                out[g.nodes[i].op_type] += 1
    return out


def test_tensorrt_placement_rules(small_onnx):
    p = plan(small_onnx, QuantConfig())
    g = Graph(small_onnx)
    ops = {g.nodes[i].op_type for consumers in p.activations.values() for i, _ in consumers}
    assert "Conv" in ops
    assert not ops & {"Softmax", "Sigmoid", "Resize", "MatMul"}
    head = g.head_convs()
    assert len(head) == 1 and not head & set(p.weights)  # the classifier stays float
    adds = [i for i, n in enumerate(g.nodes) if n.op_type == "Add" and any(c[0] == i for cs in p.activations.values() for c in cs)]
    for i in adds:  # only the residual input of an Add fed by a conv
        quantized = [j for cs in p.activations.values() for (k, j) in cs if k == i]
        assert len(quantized) == 1 and g.op_of(g.nodes[i].input[quantized[0]]) != "Conv"
    assert not p.shared  # FP16 remainder: ORT's QLinearConcat takes no FP16 scales, concat stays FP16
    p32 = plan(small_onnx, QuantConfig(fp16_rest=False))
    assert p32.shared and all(len(group) >= 2 for group in p32.shared)  # concat inputs share a scale


def test_qdq_model_is_symmetric_per_channel_and_close(small_onnx, batches):
    cfg = QuantConfig(method="minmax")
    p = plan(small_onnx, cfg)
    amax = collect(small_onnx, p.tensors, iter(batches), "minmax")
    q = quantize_model(small_onnx, p, amax)
    zps = [numpy_helper.to_array(i) for i in q.graph.initializer if i.name.endswith(("_qzp", "_wz"))]
    assert zps and all((z == 0).all() and z.dtype == np.int8 for z in zps)
    wscales = [numpy_helper.to_array(i) for i in q.graph.initializer if i.name.endswith("_ws")]
    assert all(s.ndim == 1 and s.size > 1 for s in wscales)  # per output channel
    fp32, int8 = run(small_onnx, batches), run(q, batches)
    assert (fp32.argmax(1) == int8.argmax(1)).mean() > 0.9
    assert consumers_of_quantized(q)["Conv"] >= 5


def test_quantize_all_and_cpu_target(small_onnx, batches):
    everything = plan(small_onnx, preset("naive"))
    assert {"Softmax", "Sigmoid", "MatMul"} <= {Graph(small_onnx).nodes[i].op_type
                                                 for cs in everything.activations.values() for i, _ in cs}
    cpu = plan(small_onnx, QuantConfig(placement="cpu"))
    assert cpu.int32_bias and cpu.outputs
    amax = collect(small_onnx, cpu.tensors, iter(batches), "minmax")
    q = quantize_model(small_onnx, cpu, amax)
    assert any(i.data_type == 6 for i in q.graph.initializer)  # int32 biases for QLinearConv
    assert run(q, batches).shape == run(small_onnx, batches).shape


def _convs(groups):
    """Input -> Conv(group=g) for each g, 8 channels throughout."""
    from onnx import TensorProto, helper

    nodes, inits, x = [], [], "input"
    for k, g in enumerate(groups):
        w = np.random.default_rng(k).normal(0, 0.1, (8, 8 // g, 3, 3)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{k}"))
        nodes.append(helper.make_node("Conv", [x, f"w{k}"], [f"c{k}"], name=f"conv{k}", group=g, pads=[1] * 4))
        x = f"c{k}"
    nodes.append(helper.make_node("Relu", [x], ["out"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8, 6, 6])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph)


def test_cpu_target_keeps_grouped_convs_float():
    model = _convs([1, 4, 8, 1])  # plain, grouped, depthwise, plain (the last is the head)
    names = lambda p: {Graph(model).nodes[i].name for i in p.weights}
    assert names(plan(model, QuantConfig())) == {"conv0", "conv1", "conv2"}
    assert names(plan(model, QuantConfig(placement="cpu"))) == {"conv0", "conv2"}


def test_keep_float_removes_a_layer(small_onnx):
    p = plan(small_onnx, QuantConfig())
    name = Graph(small_onnx).nodes[p.weights[0]].name
    kept = plan(small_onnx, QuantConfig(), frozenset({name}))
    assert len(kept.weights) == len(p.weights) - 1


def test_histogram_methods():
    rng = np.random.default_rng(0)
    h = Histogram(2048)
    for _ in range(5):
        x = rng.normal(0, 1, 10000).astype(np.float32)
        h.add(x, float(np.abs(x).max()))
    h.add(np.array([40.0], np.float32), 40.0)  # one outlier grows the range
    assert h.edge > 40 and h.counts.sum() == 50001
    assert 3.0 < h.percentile(99.99) < 6.0  # clips the outlier
    assert 1.0 < h.entropy() < 40.0


@pytest.mark.parametrize("method", ["minmax", "entropy", "percentile"])
def test_collect_streams_every_method(small_onnx, batches, method):
    p = plan(small_onnx, QuantConfig())
    amax = collect(small_onnx, p.tensors, iter(batches), method)
    assert set(amax) == set(p.tensors) and all(v > 0 for v in amax.values())
    if method != "minmax":
        mm = collect(small_onnx, p.tensors, iter(batches), "minmax")
        assert all(amax[t] <= mm[t] + 1e-6 for t in amax)


def test_trt_cache_round_trip():
    text = cache_text({"a": 12.7, "b": 1.27})
    assert text.startswith("TRT-") and parse_cache(text) == pytest.approx({"a": 0.1, "b": 0.01})
