"""Class maps from the runtime (RunnerOptions.class_map): identical to the host's argmax of the
logits, on ONNX Runtime and OpenVINO, for FP32 and INT8 Q/DQ graphs, lower-res logits included."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.bench.accuracy import to_labels
from edgeseg.runtime import open_runner
from edgeseg.runtime.choice import RunnerRequest, class_map_fits

from test_onnx_runner import conv_model
from test_openvino_runner import qdq_model
from tiny import tiny_onnx

BACKENDS = ["onnxruntime", pytest.param("openvino", marks=pytest.mark.skipif(
    not __import__("importlib").util.find_spec("openvino"), reason="OpenVINO is not installed"))]


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGESEG_CACHE_DIR", str(tmp_path / "cache"))


def lowres_model(path):
    """A stride-2 conv: logits at half the input's size, as a light decoder head might give."""
    w = np.random.default_rng(3).normal(size=(5, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["logits"], pads=[1, 1, 1, 1], strides=[2, 2])], "lowres",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 16, 24])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5, 8, 12])], [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def class_maps(path, backend, x):
    with open_runner(path, backend) as plain:
        logits = plain.infer(x)
    with open_runner(path, backend, class_map=True) as runner:
        labels = runner.infer(x)
        assert runner.io_spec.output == "labels" and "class-map" in runner.description
    return logits, labels


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", ["fp32", "int8", "lowres"])
def test_class_maps_are_the_hosts_argmax_of_the_logits(tmp_path, backend, graph):
    make = {"fp32": conv_model, "int8": qdq_model, "lowres": lowres_model}[graph]
    path = make(tmp_path / f"{graph}.onnx")
    shape = {"fp32": (2, 3, 9, 11), "int8": (1, 3, 8, 8), "lowres": (1, 3, 16, 24)}[graph]
    x = np.random.default_rng(7).normal(size=shape).astype(np.float32)
    logits, labels = class_maps(path, backend, x)
    assert labels.dtype == np.uint8 and labels.shape == (shape[0], *shape[2:])
    for one, got in zip(logits, labels):
        np.testing.assert_array_equal(got, to_labels(one, shape[2:], "logits"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_ties_go_to_the_lowest_class_as_numpy_argmax(tmp_path, backend):
    path = conv_model(tmp_path / "m.onnx")
    x = np.zeros((1, 3, 4, 4), np.float32)  # every class scores the same (the bias alone): ties everywhere
    logits, labels = class_maps(path, backend, x)
    np.testing.assert_array_equal(labels[0], logits[0].argmax(0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_graph_that_already_ends_in_labels_is_passed_through(tmp_path, backend):
    path = conv_model(tmp_path / "lab.onnx", labels=True)
    x = np.random.default_rng(1).normal(size=(1, 3, 4, 4)).astype(np.float32)
    with open_runner(path, backend) as plain, open_runner(path, backend, class_map=True) as runner:
        np.testing.assert_array_equal(runner.infer(x), plain.infer(x))


def test_class_maps_come_from_the_runtime_only_where_they_are_the_hosts(tmp_path):
    path = tiny_onnx(tmp_path / "t.onnx", input_size=(36, 48))
    assert class_map_fits(path, (36, 48))
    assert not class_map_fits(path, (72, 96))  # the host resizes the logits to the image: its own path
    ckpt = tmp_path / "c.pth"
    ckpt.write_bytes(b"x")
    assert not class_map_fits(ckpt, (36, 48))  # at the image's own size, capped per image: host path
    assert class_map_fits(ckpt, (36, 48), RunnerRequest(input_size=(36, 48)))
