"""Version-aware build modes and optimization-profile parsing (no GPU needed)."""

import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
import numpy as np

from edgeseg.bench.devices import load_profile
from edgeseg.engine.shapes import from_profile, is_dynamic, parse_shapes
from edgeseg.engine.versions import TrtVersion, build_mode, onnx_precision
from edgeseg.errors import EdgesegError


@pytest.mark.parametrize("version,precision,strong,flags", [
    ("8.6.1.6", "fp16", False, ("FP16",)),
    ("8.6.2", "int8", False, ("INT8", "FP16")),
    ("10.3.0.30", "fp32", False, ()),
    ("10.16.0", "int8", False, ("INT8", "FP16")),
    ("11.0.0", "fp16", True, ()),
    ("11.2.1", "int8", True, ()),
])
def test_build_mode_per_generation(version, precision, strong, flags):
    mode = build_mode(TrtVersion.parse(version), precision)
    assert mode.strongly_typed is strong and mode.flags == flags


def test_old_tensorrt_refused_and_cache_tag():
    with pytest.raises(EdgesegError, match="too old"):
        build_mode(TrtVersion.parse("8.5.3"), "fp16")
    assert TrtVersion.parse("10.3.0.30").cache_tag == "100300"
    assert TrtVersion.parse("10.3") < TrtVersion.parse("11.0")
    with pytest.raises(EdgesegError):
        TrtVersion.parse("ten")


def test_precision_read_from_graph():
    def model(op, dtype):
        init = numpy_helper.from_array(np.zeros(2, dtype), "w")
        g = helper.make_graph([helper.make_node(op, ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], [init])
        return helper.make_model(g)

    assert onnx_precision(model("Add", np.float32)) == "fp32"
    assert onnx_precision(model("Add", np.float16)) == "fp16"
    assert onnx_precision(model("DequantizeLinear", np.int8)) == "int8"


def test_shapes_parse_and_validate():
    s = parse_shapes("1x3x180x240:1x3x360x480:1x3x1024x2048")
    assert s.min == (1, 3, 180, 240) and s.max == (1, 3, 1024, 2048)
    assert parse_shapes("1x3x360x480").opt == (1, 3, 360, 480)
    s.fits([None, 3, None, None])
    with pytest.raises(EdgesegError, match="min <= opt <= max"):
        parse_shapes("1x3x360x480:1x3x180x240:1x3x1024x2048")
    with pytest.raises(EdgesegError, match="not a shape"):
        parse_shapes("1x3xAx240:1x3x360x480:1x3x1024x2048")
    with pytest.raises(EdgesegError, match="min:opt:max"):
        parse_shapes("1x3x1x1:1x3x2x2")
    with pytest.raises(EdgesegError, match="fixed at 3"):
        parse_shapes("1x4x8x8").fits([None, 3, None, None])
    assert is_dynamic([None, 3, 180, 240]) and not is_dynamic([1, 3, 180, 240])
    assert from_profile(load_profile("jetson-orin")).opt == (1, 3, 512, 1024)
