"""--shapes parsing and the choice of optimization profile (static models need none)."""

import pytest

from edgeseg.platform.devices import load_profile
from edgeseg.engine.shapes import Shapes, choose, format_shape, from_profile, is_dynamic, parse_shapes, require_static
from edgeseg.errors import EdgesegError

DYNAMIC = [-1, 3, -1, -1]  # as TensorRT reports an input exported with --dynamic


def test_parse_min_opt_max_and_single_shape():
    s = parse_shapes("1x3x180x240:1x3x360x480:1x3x1024x2048")
    assert (s.min, s.opt, s.max) == ((1, 3, 180, 240), (1, 3, 360, 480), (1, 3, 1024, 2048))
    assert s.text == "1x3x180x240:1x3x360x480:1x3x1024x2048" and not s.static
    one = parse_shapes(" 1X3x360x480 ")
    assert one.min == one.opt == one.max == (1, 3, 360, 480) and one.static


@pytest.mark.parametrize("text,message", [
    ("1x3x360x480:1x3x180x240:1x3x1024x2048", "min <= opt <= max"),
    ("1x3xAx240:1x3x360x480:1x3x1024x2048", "not a shape"),
    ("1x3x1x1:1x3x2x2", "min:opt:max"),
    ("1x3x0x240", "positive"),
    ("1x3x180x240:1x3x360:1x3x1024x2048", "same number of dimensions"),
    ("480", "not a shape"),
    ("", "not a shape"),
])
def test_bad_shapes_are_refused(text, message):
    with pytest.raises(EdgesegError, match=message):
        parse_shapes(text)


def test_dynamic_model_takes_explicit_then_device_shapes():
    explicit = parse_shapes("1x3x180x240:1x3x360x480:1x3x720x960")
    default = from_profile(load_profile("jetson-orin"), DYNAMIC)
    assert choose(DYNAMIC, explicit, default) is explicit
    assert choose(DYNAMIC, None, default).opt == (1, 3, 512, 1024)
    with pytest.raises(EdgesegError, match=r"'input' is dynamic \(\?x3x\?x\?\): give --shapes"):
        choose(DYNAMIC, None, None)


def test_static_model_needs_no_profile_and_takes_only_its_shape():
    static = [1, 3, 180, 240]
    assert choose(static, None, from_profile(load_profile("cuda"))) is None  # device defaults ignored
    assert choose(static, parse_shapes("1x3x180x240"), None) is None
    with pytest.raises(EdgesegError, match="dimension 2 of model input 'input' is fixed at 180"):
        choose(static, parse_shapes("1x3x360x480"), None)


def test_fixed_dims_and_rank_are_checked():
    with pytest.raises(EdgesegError, match="fixed at 3"):
        parse_shapes("1x4x8x8").fits(DYNAMIC)
    with pytest.raises(EdgesegError, match="has 3 dimensions; the model input has 4"):
        parse_shapes("3x8x8").fits(DYNAMIC)


def test_uint8_nhwc_models_get_device_shapes_in_their_layout():
    shapes = from_profile(load_profile("jetson-orin-nano"), [-1, -1, -1, 3])
    assert (shapes.min, shapes.opt, shapes.max) == ((1, 180, 240, 3), (1, 360, 480, 3), (1, 512, 1024, 3))


def test_dla_needs_one_shape():
    require_static(None)
    require_static(parse_shapes("1x3x360x480"))
    with pytest.raises(EdgesegError, match="give --shapes 1x3x360x480 \\(min = opt = max\\)"):
        require_static(parse_shapes("1x3x180x240:1x3x360x480:1x3x1024x2048"))


def test_helpers():
    assert is_dynamic(DYNAMIC) and is_dynamic([1, 3, "height", 240]) and not is_dynamic([1, 3, 180, 240])
    assert format_shape([-1, 3, None, "w"]) == "?x3x?x?"
    assert Shapes((1, 2), (1, 2), (1, 2)).static
