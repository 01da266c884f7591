"""What each TensorRT generation is asked for: network flags, builder flags, per ONNX precision."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.engine.versions import TrtVersion, build_mode, onnx_precision
from edgeseg.errors import EdgesegError


@pytest.mark.parametrize("version,precision,strong,network,builder", [
    # 8.6 (JetPack 6.0): weakly typed, explicit batch must still be asked for
    ("8.6.2.3", "fp32", False, ("EXPLICIT_BATCH",), ()),
    ("8.6.1.6", "fp16", False, ("EXPLICIT_BATCH",), ("FP16",)),
    ("8.6.2", "int8", False, ("EXPLICIT_BATCH",), ("INT8", "FP16")),
    # 10.x (JetPack 6.1/6.2 ship 10.3): weakly typed, explicit batch is the only mode
    ("10.3.0.30", "fp32", False, (), ()),
    ("10.3.0", "fp16", False, (), ("FP16",)),
    ("10.16.0", "int8", False, (), ("INT8", "FP16")),
    # 11.x: no FP16/INT8 flags any more; precision comes from the graph
    ("11.0.0", "fp32", True, ("STRONGLY_TYPED",), ()),
    ("11.0.0", "fp16", True, ("STRONGLY_TYPED",), ()),
    ("11.4.0.106", "int8", True, ("STRONGLY_TYPED",), ()),
])
def test_build_mode_per_generation(version, precision, strong, network, builder):
    mode = build_mode(TrtVersion.parse(version), precision)
    assert (mode.strongly_typed, mode.network_flags, mode.builder_flags) == (strong, network, builder)


def test_dla_adds_gpu_fallback_and_refuses_fp32():
    assert build_mode(TrtVersion.parse("10.3.0"), "int8", dla=True).builder_flags == ("INT8", "FP16", "GPU_FALLBACK")
    assert build_mode(TrtVersion.parse("11.0"), "fp16", dla=True).builder_flags == ("GPU_FALLBACK",)
    with pytest.raises(EdgesegError, match="DLA runs FP16 or INT8 only"):
        build_mode(TrtVersion.parse("8.6.2"), "fp32", dla=True)


def test_mode_names_are_readable():
    assert build_mode(TrtVersion.parse("10.3"), "int8").name == "weakly typed + INT8/FP16"
    assert build_mode(TrtVersion.parse("10.3"), "fp32").name == "weakly typed"
    assert build_mode(TrtVersion.parse("11.1"), "int8").name == "strongly typed"


def test_old_or_unknown_refused():
    with pytest.raises(EdgesegError, match="too old"):
        build_mode(TrtVersion.parse("8.5.3.1"), "fp16")
    with pytest.raises(EdgesegError, match="unknown precision"):
        build_mode(TrtVersion.parse("10.3"), "bf16")
    for bad in ("ten", "", "10"):
        with pytest.raises(EdgesegError, match="cannot read a TensorRT version"):
            TrtVersion.parse(bad)


def test_version_parsing_and_release_identity():
    v = TrtVersion.parse("10.3.0.30")
    assert (v.major, v.minor, v.short, str(v)) == (10, 3, "10.3", "10.3.0.30")
    assert TrtVersion.parse("8.6.2") < TrtVersion.parse("10.3.0") < TrtVersion.parse("11.0.0")
    assert v.same_release(TrtVersion.parse("10.3.0"))  # one side states no build number
    assert not v.same_release(TrtVersion.parse("10.3.0.26"))  # another build of 10.3.0
    assert not v.same_release(TrtVersion.parse("10.4.0.30"))
    assert TrtVersion.parse("11.0").same_release(TrtVersion.parse("11.0.0"))


def _model(nodes, inits=(), elem=TensorProto.FLOAT):
    graph = helper.make_graph(list(nodes), "g", [helper.make_tensor_value_info("x", elem, [2])],
                              [helper.make_tensor_value_info("y", elem, [2])], list(inits))
    return helper.make_model(graph)


def test_precision_is_read_from_the_graph():
    fp32_w = numpy_helper.from_array(np.ones(2, np.float32), "w")
    fp16_w = numpy_helper.from_array(np.ones(2, np.float16), "w")
    assert onnx_precision(_model([helper.make_node("Add", ["x", "w"], ["y"])], [fp32_w])) == "fp32"
    assert onnx_precision(_model([helper.make_node("Add", ["x", "w"], ["y"])], [fp16_w])) == "fp16"
    # FP16 model with float32 I/O: only the casts and constants say so
    casts = [helper.make_node("Cast", ["x"], ["h"], to=TensorProto.FLOAT16), helper.make_node("Cast", ["h"], ["y"], to=1)]
    assert onnx_precision(_model(casts)) == "fp16"
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "s")
    zero = numpy_helper.from_array(np.array(0, np.int8), "z")
    qdq = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
           helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    assert onnx_precision(_model(qdq, [scale, zero])) == "int8"
