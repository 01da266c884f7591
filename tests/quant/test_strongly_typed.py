"""TensorRT-target Q/DQ graphs as strongly typed builders read them: downsample adds quantized,
FP16 wherever not quantized, INT8 and FP8 E4M3 on the same placement, checked and parsed."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.engine.versions import TrtVersion, build_mode, onnx_precision
from edgeseg.errors import EdgesegError
from edgeseg.quant import strongly_typed
from edgeseg.quant.calibrate import collect
from edgeseg.quant.config import QuantConfig
from edgeseg.quant.formats import FP8
from edgeseg.runtime.ort import optimization_level as ort_optimization_level
from edgeseg.quant.placement import Graph, plan
from edgeseg.quant.config import artifact_tag

def _downsample_block(projection_first: bool):
    """x -> conv1 -> relu -> conv2, plus a 1x1 stride-2 projection of x; Add of the two (ResNet)."""
    rng = np.random.default_rng(0)
    w = lambda *s: numpy_helper.from_array(rng.normal(0, 0.1, s).astype(np.float32), f"w{len(s)}_{s[0]}_{s[1]}_{s[2]}")  # noqa: E731
    w1, w2, wp = w(8, 4, 3, 3), w(8, 8, 3, 3), w(8, 4, 1, 1)
    nodes = [helper.make_node("Conv", ["x", w1.name], ["c1"], name="conv1", pads=[1] * 4, strides=[2, 2]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", w2.name], ["c2"], name="conv2", pads=[1] * 4),
             helper.make_node("Conv", ["x", wp.name], ["p"], name="proj", strides=[2, 2]),
             helper.make_node("Add", ["p", "c2"] if projection_first else ["c2", "p"], ["sum"], name="add"),
             helper.make_node("Relu", ["sum"], ["y"], name="relu2")]
    graph = helper.make_graph(nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 4, 4])], [w1, w2, wp])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("projection_first", [True, False])
def test_downsample_add_quantizes_the_projection(projection_first):
    model = _downsample_block(projection_first)
    p = plan(model, QuantConfig())
    g = Graph(model)
    add = next(i for i, n in enumerate(g.nodes) if n.op_type == "Add")
    quantized = [(t, j) for t, cs in p.activations.items() for (i, j) in cs if i == add]
    assert quantized == [("p", 0 if projection_first else 1)]  # the shortcut, never the main conv's output


def _qdq(small_onnx, batches, dtype: str, half: bool = True):
    cfg = QuantConfig(method="minmax", dtype=dtype, fp16_rest=half)
    model = strongly_typed.prepare(small_onnx, cfg)
    p = plan(model, cfg)
    amax = collect(model, p.tensors, iter(batches), "minmax")
    return strongly_typed.build(model, p, amax, cfg), amax


def _run(model, batches):
    so = ort.SessionOptions()
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ort_optimization_level(model))
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"input": b})[0] for b in batches])


@pytest.mark.parametrize("dtype", ["int8", "fp8"])
def test_tensorrt_graph_computes_in_fp16(small_onnx, batches, dtype, tmp_path, graph_types):
    float_compute_types, _types = graph_types
    q, _ = _qdq(small_onnx, batches, dtype)
    path = tmp_path / f"{dtype}.onnx"
    onnx.save(q, str(path))
    onnx.checker.check_model(str(path), full_check=True)
    assert strongly_typed.opset_of(q) >= 19
    assert [i.type.tensor_type.elem_type for i in list(q.graph.input) + list(q.graph.output)] == [TensorProto.FLOAT] * 2
    compute = float_compute_types(q)
    assert compute and all(t == {TensorProto.FLOAT16} for t in compute.values()), compute
    scales = {n.input[1] for n in q.graph.node if n.op_type == "DequantizeLinear"}
    types = _types(q)
    assert {types[s] for s in scales} == {TensorProto.FLOAT16}  # DQ outputs FP16 straight into the layers
    fp32, out = _run(small_onnx, batches), _run(q, batches)
    # an untrained net on noise has many near-ties; E4M3 keeps 3 mantissa bits (accuracy: the trained tests)
    assert (fp32.argmax(1) == out.argmax(1)).mean() > (0.9 if dtype == "int8" else 0.85)
    assert onnx_precision(q) == dtype
    assert ort_optimization_level(q) == "ORT_ENABLE_ALL"  # no shape ORT's optimisers mishandle (tests/quant/test_bias.py)


def test_fp32_remainder_is_still_available(small_onnx, batches, graph_types):
    float_compute_types, _ = graph_types
    q, _ = _qdq(small_onnx, batches, "int8", half=False)
    assert ort_optimization_level(q) == "ORT_ENABLE_ALL"
    assert strongly_typed.opset_of(q) == 17
    assert all(t == {TensorProto.FLOAT} for t in float_compute_types(q).values())


def test_fp8_graph_is_e4m3_with_zero_points_and_448_scales(small_onnx, batches):
    q, amax = _qdq(small_onnx, batches, "fp8")
    inits = {i.name: i for i in q.graph.initializer}
    qdq = [n for n in q.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert qdq and {inits[n.input[2]].data_type for n in qdq} == {TensorProto.FLOAT8E4M3FN}
    assert all((numpy_helper.to_array(inits[n.input[2]]).astype(np.float32) == 0).all() for n in qdq)
    weights = [n for n in qdq if n.input[0] in inits]
    assert weights and all(inits[n.input[0]].data_type == TensorProto.FLOAT8E4M3FN for n in weights)
    assert all(len(inits[n.input[1]].dims) == 1 and n.attribute[0].name == "axis" and n.attribute[0].i == 0
               for n in weights)  # per output channel
    acts = [n for n in qdq if n.op_type == "QuantizeLinear"]
    for n in acts:
        tensor = n.input[1].removesuffix("_qscale")  # the Q itself may read the input cast to FP16
        scale = float(numpy_helper.to_array(inits[n.input[1]]))
        assert scale == pytest.approx(amax[tensor] / 448, rel=1e-3)  # FP16 scale: 3 significant digits


def test_fp8_rounding_matches_onnxruntime_exactly():
    """formats.FP8 and ORT's QuantizeLinear give the same E4M3 values, saturation included."""
    import ml_dtypes

    x = np.random.default_rng(1).normal(0, 3, 4096).astype(np.float32)
    x[:3] = [1000.0, -1000.0, 0.0]
    scale = np.float32(2.5 / 448)
    mine = FP8.quantize(x / scale)
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"])
    graph = helper.make_graph([node], "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [x.size])],
                              [helper.make_tensor_value_info("q", TensorProto.FLOAT8E4M3FN, [x.size])],
                              [numpy_helper.from_array(np.array(scale), "s"), numpy_helper.from_array(FP8.zeros(), "z")])
    sess = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {"x": x})[0]
    assert mine.dtype == ml_dtypes.float8_e4m3fn
    assert np.array_equal(mine.view(np.uint8), np.asarray(theirs).view(np.uint8))
    assert float(mine[0].astype(np.float32)) == 448.0 and float(mine[1].astype(np.float32)) == -448.0


def test_weak_builds_get_the_flags_strong_ones_the_graph(small_onnx, batches):
    int8, _ = _qdq(small_onnx, batches, "int8")
    fp8, _ = _qdq(small_onnx, batches, "fp8")
    assert build_mode(TrtVersion.parse("8.6.2"), onnx_precision(int8)).builder_flags == ("INT8", "FP16")
    assert build_mode(TrtVersion.parse("10.3.0"), onnx_precision(fp8)).builder_flags == ("FP8", "FP16")
    assert build_mode(TrtVersion.parse("11.0.0"), onnx_precision(fp8)).strongly_typed
    with pytest.raises(EdgesegError, match="TensorRT 10 or newer"):
        build_mode(TrtVersion.parse("8.6.2"), "fp8")


def test_fp8_config_and_names():
    assert artifact_tag(QuantConfig(dtype="fp8")) == "fp8"
    with pytest.raises(EdgesegError, match="int8 only"):
        QuantConfig(dtype="fp8", placement="cpu")
    assert not QuantConfig(placement="cpu").half  # the CPU graph keeps its FP32 remainder


@pytest.mark.parametrize("dtype", ["int8", "fp8"])
def test_tensorrt_rtx_parses_and_builds(small_onnx, batches, dtype, tmp_path, rtx_build):
    q, _ = _qdq(small_onnx, batches, dtype)
    path = tmp_path / "m.onnx"
    onnx.save(q, str(path))
    result = rtx_build(path, ("SM89", "SM120"))
    assert result["errors"] == [] and result["built"]
    ops = [n.op_type for n in q.graph.node]
    assert result["layers"]["QUANTIZE"] == ops.count("QuantizeLinear")
    assert result["layers"]["DEQUANTIZE"] == ops.count("DequantizeLinear")


def test_fp16_scales_round_up_and_never_vanish():
    from edgeseg.quant.qdq import _round_up

    asked = np.array([3.1e-6, 1e-12, 0.0123, 1.0], np.float32)
    got = _round_up(asked, np.float16)
    assert got.dtype == np.float16 and (got.astype(np.float32) >= asked).all() and (got > 0).all()
    assert np.array_equal(_round_up(asked, np.float32), asked)
