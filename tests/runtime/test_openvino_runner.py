"""OpenVINORunner on tiny ONNX models: same outputs as ONNX Runtime, its settings honoured, its errors one line."""

import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.errors import EdgesegError
from edgeseg.runtime import open_runner
from edgeseg.runtime.onnx_runner import OrtRunner
from edgeseg.runtime.openvino_runner import OpenVINORunner, cache_dir

from test_onnx_runner import conv_model
from tiny import tiny_onnx


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGESEG_CACHE_DIR", str(tmp_path / "cache"))


def qdq_model(path):
    """Q/DQ int8 conv: symmetric int8 activations (zero point 0), per-channel weights, as our TensorRT preset writes."""
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, (8, 3, 3, 3)).astype(np.int8)
    w_scale = (rng.uniform(0.5, 1.5, 8) / 127).astype(np.float32)
    init = [numpy_helper.from_array(w, "w_q"), numpy_helper.from_array(w_scale, "w_s"),
            numpy_helper.from_array(np.zeros(8, np.int8), "w_z"),
            numpy_helper.from_array(np.array(4.0 / 127, np.float32), "x_s"),
            numpy_helper.from_array(np.array(0, np.int8), "x_z")]
    nodes = [helper.make_node("QuantizeLinear", ["input", "x_s", "x_z"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "x_s", "x_z"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["wd"], axis=0),
             helper.make_node("Conv", ["xd", "wd"], ["logits"], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8, 8, 8])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def both(path, x, **options):
    ov = pytest.importorskip("openvino")
    del ov
    with OpenVINORunner(path, **options) as runner:
        got = runner.infer(x)
        spec = runner.io_spec
    with OrtRunner(path) as ref:
        want = ref.infer(x)
    return got, want, spec


def test_same_outputs_as_onnxruntime_fp32(tmp_path):
    x = np.random.default_rng(1).normal(size=(1, 3, 5, 7)).astype(np.float32)
    got, want, spec = both(conv_model(tmp_path / "m.onnx"), x.astype(np.float64))  # cast, not refused
    assert got.dtype == np.float32 and got.shape == (1, 4, 5, 7)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert (spec.input_dtype, spec.input_layout, spec.output) == ("float32", "NCHW", "logits")


def test_fp16_model_takes_and_gives_float32(tmp_path):
    x = np.random.default_rng(2).normal(size=(1, 3, 4, 4)).astype(np.float32)
    got, want, spec = both(conv_model(tmp_path / "m16.onnx", TensorProto.FLOAT16), x)
    assert spec.input_dtype == "float16" and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-2, atol=1e-2)


def test_int8_qdq_model_matches_onnxruntime(tmp_path):
    x = np.random.default_rng(3).uniform(-4, 4, (1, 3, 8, 8)).astype(np.float32)
    got, want, _ = both(qdq_model(tmp_path / "q.onnx"), x)
    # both dequantize the same integers; only accumulation order and the output's float math differ
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


def test_label_output(tmp_path):
    x = np.random.default_rng(4).normal(size=(1, 3, 6, 6)).astype(np.float32)
    got, want, spec = both(conv_model(tmp_path / "lab.onnx", labels=True), x)
    assert spec.output == "labels" and got.shape == (1, 6, 6)
    np.testing.assert_array_equal(got, want)


def test_threads_latency_hint_and_f32_are_compiled_in(tmp_path):
    pytest.importorskip("openvino")
    runner = OpenVINORunner(conv_model(tmp_path / "m.onnx"), threads=1)
    assert runner.description == "openvino CPU 1 threads"
    with runner:
        assert int(runner.compiled_property("INFERENCE_NUM_THREADS")) == 1
        assert str(runner.compiled_property("PERFORMANCE_HINT")) in ("LATENCY", "PerformanceMode.LATENCY")
        # f32 even on CPUs where OpenVINO would pick bfloat16 by itself (AVX512_BF16, AMX)
        assert runner.compiled_property("INFERENCE_PRECISION_HINT").get_type_name() == "f32"
    with OpenVINORunner(conv_model(tmp_path / "m2.onnx"), threads=2) as runner:
        assert int(runner.compiled_property("INFERENCE_NUM_THREADS")) == 2


def test_compiled_model_is_cached_per_user(tmp_path):
    pytest.importorskip("openvino")
    assert cache_dir() == tmp_path / "cache" / "openvino"
    with OpenVINORunner(conv_model(tmp_path / "m.onnx")):
        pass
    blobs = list(cache_dir().glob("*.blob"))
    assert blobs, "compiling wrote no cache entry"
    with OpenVINORunner(tmp_path / "m.onnx") as again:  # the second load reads it (no new entry)
        assert again.infer(np.zeros((1, 3, 2, 2), np.float32)).shape == (1, 4, 2, 2)
    assert sorted(cache_dir().glob("*.blob")) == sorted(blobs)
    with OpenVINORunner(tmp_path / "m.onnx", cache=False) as uncached:
        assert "CACHE_DIR" not in uncached.properties()


def test_bad_and_missing_models_are_one_line(tmp_path):
    pytest.importorskip("openvino")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00 definitely not protobuf")
    with pytest.raises(EdgesegError, match="bad.onnx: OpenVINO cannot compile it for CPU") as info:
        OpenVINORunner(bad).activate()
    assert "\n" not in str(info.value)
    with pytest.raises(EdgesegError, match="nope.onnx: no such model file"):
        OpenVINORunner(tmp_path / "nope.onnx").activate()
    with pytest.raises(EdgesegError, match="OpenVINO device NPU is not available here; available: CPU"):
        OpenVINORunner(conv_model(tmp_path / "m.onnx"), ov_device="NPU").activate()
    with pytest.raises(EdgesegError, match="unknown OpenVINO precision 'int4'"):
        OpenVINORunner(bad, precision_hint="int4")


def test_missing_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now raises ImportError
    with pytest.raises(EdgesegError, match=r"pip install 'edgeseg\[openvino\]'") as info:
        OpenVINORunner(conv_model(tmp_path / "m.onnx")).activate()
    assert "\n" not in str(info.value)


def test_open_runner_backend_choice(tmp_path):
    path = tiny_onnx(tmp_path / "t.onnx")
    runner = open_runner(path, "openvino", threads=2)
    assert type(runner).__name__ == "OpenVINORunner" and (runner.ov_device, runner.threads) == ("CPU", 2)
    assert open_runner(path, "openvino:gpu.1").ov_device == "GPU.1"
    assert open_runner(path, "onnxruntime").backend == "onnxruntime"
    assert runner.metadata["dataset"]["name"] == "camvid"  # the same preprocessing contract as ORT reads
    ckpt = tmp_path / "c.pth"
    ckpt.write_bytes(b"not loaded")
    assert open_runner(ckpt, "openvino").backend == "torch"  # a backend applies to the files it can read
    with pytest.raises(EdgesegError, match="unknown backend 'openvin'"):
        open_runner(path, "openvin")
    with pytest.raises(EdgesegError, match="only openvino takes a device"):
        open_runner(path, "onnxruntime:GPU")


def test_int8_activations_compile_as_uint8_on_the_same_grid(tmp_path):
    from edgeseg.runtime.ov_graph import openvino_copy, signed_activation_zero_points

    src = qdq_model(tmp_path / "q.onnx")
    assert signed_activation_zero_points(onnx.load(str(src))) == ["x_z"]  # the weights' zero point stays int8
    copy = openvino_copy(src, tmp_path / "graphs")
    onnx.checker.check_model(str(copy), full_check=True)
    assert openvino_copy(src, tmp_path / "graphs") == copy  # made once
    x = np.random.default_rng(6).uniform(-5, 5, (1, 3, 8, 8)).astype(np.float32)  # beyond the range: clipped alike
    with OrtRunner(src) as a, OrtRunner(copy) as b:
        np.testing.assert_array_equal(a.infer(x), b.infer(x))  # exactly the same values, q_u8 = q_s8 + 128
    assert openvino_copy(conv_model(tmp_path / "f.onnx"), tmp_path / "graphs") is None  # nothing to change
    pytest.importorskip("openvino")
    with OpenVINORunner(src) as runner:
        assert ".u8act" in runner.compiled_from
    with OpenVINORunner(src, uint8_activations=False) as runner:
        assert runner.compiled_from == str(src)


def test_value_info_of_the_retyped_activations_follows(tmp_path):
    """Exported graphs record every tensor's type (value_info): the copy once failed its own check on
    them and the runner fell back, silently, to the graph OpenVINO runs wrong."""
    from onnx import shape_inference

    from edgeseg.runtime.ov_graph import openvino_copy

    src = tmp_path / "typed.onnx"
    onnx.save(shape_inference.infer_shapes(onnx.load(str(qdq_model(tmp_path / "q.onnx")))), str(src))
    assert any(v.name == "xq" for v in onnx.load(str(src)).graph.value_info)
    copy = openvino_copy(src, tmp_path / "graphs")
    (xq,) = [v for v in onnx.load(str(copy)).graph.value_info if v.name == "xq"]
    assert xq.type.tensor_type.elem_type == TensorProto.UINT8


def test_float_weight_copy_computes_what_the_int8_file_does(tmp_path):
    """CPUs without VNNI get the weights dequantized to float: the same numbers, computed exactly."""
    from edgeseg.runtime.ov_graph import openvino_copy, weights_saturate

    src = qdq_model(tmp_path / "q.onnx")
    copy = openvino_copy(src, tmp_path / "graphs", float_weights=True)
    assert "DequantizeLinear" in [n.op_type for n in onnx.load(str(copy)).graph.node]  # the activations' stays
    assert not any(t.data_type == TensorProto.INT8 for t in onnx.load(str(copy)).graph.initializer)
    x = np.random.default_rng(7).uniform(-5, 5, (1, 3, 8, 8)).astype(np.float32)
    with OrtRunner(src) as a, OrtRunner(copy) as b:
        np.testing.assert_allclose(a.infer(x), b.infer(x), rtol=1e-5, atol=1e-5)
    assert weights_saturate(("AVX2",)) and weights_saturate(("AVX-512", "AVX2"))
    assert not weights_saturate(("VNNI", "AVX2")) and not weights_saturate(("AMX", "VNNI", "AVX2"))
    assert not weights_saturate(("NEON", "DOTPROD"))


def test_an_int8_ir_of_our_graph_is_refused_on_a_cpu_without_vnni(tmp_path, monkeypatch):
    """Issue 28: such an IR keeps int8 weights, which OpenVINO saturates without VNNI; NNCF's IRs
    and FP32 IRs run. Refused in one line before any compile, naming what to run instead."""
    from edgeseg.artifacts import write_sidecar
    from edgeseg.platform import hardware

    xml = tmp_path / "m.openvino-int8.xml"
    xml.write_text("<net/>")
    meta = {"kind": "openvino-ir", "stage": "openvino", "precision": "int8",
            "provenance": {"parent": {"path": str(tmp_path / "m.int8.onnx")}}}
    write_sidecar(xml, meta)
    monkeypatch.setattr(hardware, "this_isa", lambda: ("AVX2",))
    runner = OpenVINORunner(xml)
    monkeypatch.setattr(OpenVINORunner, "metadata", meta)
    with pytest.raises(EdgesegError, match="runs wrong on this CPU without VNNI") as info:
        runner._refuse_saturating_ir()
    assert "m.int8.onnx" in str(info.value) and "edgeseg tune" in str(info.value) and "\n" not in str(info.value)
    monkeypatch.setattr(hardware, "this_isa", lambda: ("VNNI", "AVX2"))
    runner._refuse_saturating_ir()  # with VNNI it runs
    monkeypatch.setattr(hardware, "this_isa", lambda: ("AVX2",))
    monkeypatch.setattr(OpenVINORunner, "metadata", {**meta, "stage": "nncf"})
    runner._refuse_saturating_ir()  # NNCF's IR handles the overflow itself
