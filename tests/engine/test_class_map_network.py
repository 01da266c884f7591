"""TensorRT class maps: a TopK over the classes replaces the logits output of the parsed network.
Parsed with whichever TensorRT is here (TensorRT-RTX's parser runs without a GPU); building and
running an engine needs a GPU and is not done here; a TensorRT-RTX engine is built ahead of time on
this CPU to check what its sidecar says."""

import importlib.util

import pytest

import edgeseg.engine.flavors as flavors
from edgeseg.engine.network import append_class_map, collecting_logger, parse_network
from edgeseg.engine.versions import TrtVersion, build_mode, rtx_build_mode

def _model(path, qdq=False, labels=False):
    """Relu over 1 x 4 x 8 x 8 "logits" (after an int8 Q/DQ pair with `qdq`), or their argmax with `labels`."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, init, x = [], [], "input"
    if qdq:
        init = [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(0, np.int8), "z")]
        nodes += [helper.make_node("QuantizeLinear", ["input", "s", "z"], ["q"]),
                  helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"])]
        x = "dq"
    nodes.append(helper.make_node("Relu", [x], ["logits"]))
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4, 8, 8])
    if labels:
        nodes.append(helper.make_node("ArgMax", ["logits"], ["labels"], axis=1, keepdims=0))
        out = helper.make_tensor_value_info("labels", TensorProto.INT64, [1, 8, 8])
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [out], init)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path

def parsed(path):
    kinds = flavors.importable()
    if not kinds:
        pytest.skip("neither TensorRT nor TensorRT-RTX is installed: pip install 'edgeseg[rtx]'")
    kind = kinds[-1]
    trt = flavors.import_module(kind)
    mode = rtx_build_mode() if kind.aot else build_mode(TrtVersion.parse(trt.__version__), "fp32")
    logger = collecting_logger(trt)
    builder = trt.Builder(logger)
    if builder is None:
        pytest.skip(f"{kind.label} creates no builder here (needs a GPU)")
    network, parser, errors = parse_network(trt, builder, logger, path, mode)
    assert not errors
    return trt, network, parser

@pytest.mark.parametrize("qdq", [False, True])
def test_logits_become_an_int32_class_map(tmp_path, qdq):
    trt, network, _parser = parsed(_model(tmp_path / "m.onnx", qdq=qdq))
    logits = network.get_output(0)
    assert append_class_map(trt, network)
    assert network.num_outputs == 1
    labels = network.get_output(0)
    assert labels.name == "labels" and labels.dtype == trt.int32
    assert len(labels.shape) == 3 and list(labels.shape)[1:] == list(logits.shape)[2:]
    kinds = [network.get_layer(i).type for i in range(network.num_layers)]
    assert trt.LayerType.TOPK in kinds

def test_a_network_that_ends_in_labels_is_passed_through(tmp_path):
    trt, network, _parser = parsed(_model(tmp_path / "lab.onnx", labels=True))
    before = network.num_layers
    assert not append_class_map(trt, network)
    assert network.num_layers == before


@pytest.mark.skipif(importlib.util.find_spec("tensorrt_rtx") is None, reason="TensorRT-RTX is not installed "
                    "(its ahead-of-time build runs without a GPU): pip install 'edgeseg[rtx]'")
def test_an_engine_built_with_class_map_says_it_gives_labels(tmp_path):
    """Built ahead of time with TensorRT-RTX on this CPU; running it needs an RTX GPU (not here)."""
    import onnx

    from edgeseg.engine.builder import BuildSettings, build_plan
    from tiny import tiny_onnx

    model = tiny_onnx(tmp_path / "t.onnx", input_size=(8, 8))
    proto = onnx.load(str(model))  # static shapes: no optimisation profile to choose
    for v in (proto.graph.input[0], proto.graph.output[0]):
        for d, n in zip(v.type.tensor_type.shape.dim[2:], (8, 8)):
            d.dim_value = n
    onnx.save(proto, str(model))
    meta = build_plan(model, tmp_path / "t.engine", BuildSettings(runtime="tensorrt-rtx", compute_capabilities="8.9",
                                                                  class_map=True), progress=False).to_dict()
    assert meta["io"]["output"]["kind"] == "labels" and meta["io"]["output"]["name"] == "labels"
    assert meta["io"]["output"]["shape"] == [1, 8, 8]
