"""TensorRT-RTX without a GPU: compute capabilities, the sidecar target, the refusal of other GPU
classes (a fake detected GPU), the runtime cache, option refusals, and the Q/DQ fusion reader."""

import hashlib
import json
import re

import pytest

from edgeseg.engine import rtx, sidecar
from edgeseg.engine.builder import BuildSettings, build_engine, check_settings
from edgeseg.engine.qdq_fusion import analyze, layer_list, parse_kernels
from edgeseg.errors import EdgesegError

RTX_SIDECAR = {
    "format": "edgeseg-artifact/1", "kind": "engine", "stage": "engine", "precision": "fp16",
    "io": {"input": {"name": "input", "dtype": "float32", "layout": "NCHW", "shape": [1, 3, 180, 240]},
           "output": {"name": "logits", "dtype": "float32", "kind": "logits", "shape": [1, 11, 180, 240]}},
    "target": sidecar.rtx_built_for("1.7.1.116", ("8.6", "8.9", "12.0")).to_dict(),
    "engine": {"sha256": hashlib.sha256(b"plan").hexdigest()},  # the tests' stand-in plan
    "provenance": {"parent": {"path": "m.onnx"}},
}


@pytest.mark.parametrize("text,expected", [
    (None, rtx.DEFAULT_CCS), ("8.6,8.9,12.0", ("8.6", "8.9", "12.0")), ("sm_120, 86,86", ("12.0", "8.6")),
    ("7.5", ("7.5",)), (["12.1"], ("12.1",)),
])
def test_compute_capabilities(text, expected):
    assert rtx.parse_compute_capabilities(text) == expected


@pytest.mark.parametrize("text", ["9.0", "8.7", "sm_100", ","])
def test_compute_capabilities_outside_rtx_are_refused(text):
    with pytest.raises(EdgesegError, match="TensorRT-RTX builds for|needs at least one value") as caught:
        rtx.parse_compute_capabilities(text)
    assert caught.value.fields == ["engine.compute_capabilities"]  # each command names its own flag for it


def test_rtx_target_round_trip_and_text():
    target = sidecar.BuiltFor.from_dict(RTX_SIDECAR["target"])
    assert target.rtx and target.compute_capabilities == ("8.6", "8.9", "12.0")
    assert RTX_SIDECAR["target"]["runtime"] == "tensorrt-rtx"
    assert target.describe() == "TensorRT-RTX 1.7.1.116 for sm_86/sm_89/sm_120 (ahead of time)"
    plain = sidecar.BuiltFor.from_dict({"tensorrt": "10.3.0.30", "gpu": "Orin", "compute_capability": "8.7"})
    assert plain.runtime == "tensorrt" and not plain.rtx  # sidecars from before the runtime field


@pytest.mark.parametrize("gpu,cc,board,message", [
    ("NVIDIA H200", "9.0", None, r"this machine has NVIDIA H200 \(sm_90\), not an RTX-class GPU .*--runtime tensorrt`$"),
    ("Orin", "8.7", "NVIDIA Jetson AGX Orin Developer Kit", r"TensorRT-RTX does not run on Jetson \(NVIDIA Jetson AGX"),
    ("NVIDIA GeForce RTX 2080 Ti", "7.5", None,
     r"this GPU is NVIDIA GeForce RTX 2080 Ti \(sm_75\): rebuild it with .*--compute-capability 8\.6,8\.9,12\.0,7\.5`$"),
])
def test_other_gpu_classes_are_refused_in_one_line(gpu, cc, board, message):
    with pytest.raises(EdgesegError, match=message) as info:
        rtx.check_gpu("m.engine", RTX_SIDECAR, gpu, cc, board)
    assert "\n" not in str(info.value) and str(info.value).startswith("engine m.engine is a TensorRT-RTX engine")


def test_rtx_gpus_it_was_built_for_pass():
    rtx.check_gpu("m.engine", RTX_SIDECAR, "NVIDIA GeForce RTX 4090", "8.9")
    here = sidecar.rtx_built_for("1.7.1.116", ("8.9",))
    sidecar.check_compatible("m.engine", RTX_SIDECAR, here)
    with pytest.raises(EdgesegError, match=r"built with TensorRT-RTX 1\.7\.1\.116 .*this machine has TensorRT-RTX "
                                           r"1\.8\.0.*--runtime tensorrt-rtx`$"):
        sidecar.check_compatible("m.engine", RTX_SIDECAR, sidecar.rtx_built_for("1.8.0", ("8.9",)))
    with pytest.raises(EdgesegError, match="rebuild it here"):  # an RTX engine handed to the full TensorRT
        sidecar.check_compatible("m.engine", RTX_SIDECAR, sidecar.BuiltFor("1.7.1.116", "RTX 4090", "8.9"))


def test_runner_refuses_an_rtx_engine_on_an_h200_before_loading(tmp_path, monkeypatch):
    """The GPU class is read from the sidecar and the detected GPU: nothing of TensorRT-RTX is loaded."""
    import edgeseg.engine.cuda as cuda_mod
    import edgeseg.engine.flavors as flavors
    from edgeseg.runtime import open_runner

    monkeypatch.setattr(cuda_mod, "open_device", lambda index: (None, "NVIDIA H200", "9.0"))
    monkeypatch.setattr(flavors, "import_module", lambda f: pytest.fail("TensorRT-RTX was imported"))
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    (tmp_path / "m.engine.json").write_text(json.dumps(RTX_SIDECAR))
    runner = open_runner(engine, runtime_cache=tmp_path / "k.rtxcache")
    assert runner.description == "tensorrt-rtx" and runner.io_spec.input_shape == (1, 3, 180, 240)
    with pytest.raises(EdgesegError, match=r"NVIDIA H200 \(sm_90\), not an RTX-class GPU"):
        runner.activate()
    assert not runner.active and not (tmp_path / "k.rtxcache").exists()


class FakeCache:
    def __init__(self, accept=True, blob=b""):
        self.accept, self.blob, self.loaded = accept, blob, None

    def deserialize(self, data):
        self.loaded = bytes(data)
        return self.accept

    def serialize(self):
        return self.blob


class FakeRuntimeConfig:
    def __init__(self, cache):
        self.cache, self.attached = cache, None

    def create_runtime_cache(self):
        return self.cache

    def set_runtime_cache(self, cache):
        self.attached = cache


def test_runtime_cache_is_read_and_written_back(tmp_path, caplog):
    path = rtx.cache_path(tmp_path / "m.engine")
    assert path.name == "m.engine.rtxcache" and rtx.cache_path("m.engine", tmp_path / "x") == tmp_path / "x"
    config = FakeRuntimeConfig(FakeCache(blob=b"kernels"))
    cache = rtx.attach_runtime_cache(config, path)  # no file yet: an empty cache, still attached
    assert config.attached is cache and cache.loaded is None
    rtx.save_runtime_cache(cache, path)
    assert path.read_bytes() == b"kernels"
    stale = FakeCache(accept=False)
    rtx.attach_runtime_cache(FakeRuntimeConfig(stale), path)
    assert stale.loaded == b"kernels" and "from another GPU" in caplog.text


@pytest.mark.parametrize("kwargs,message", [
    ({"runtime": "tensorrt-rtx", "dla_core": 0}, "--dla-core does not apply to --runtime tensorrt-rtx"),
    ({"runtime": "tensorrt-rtx", "timing_cache": "t.cache"}, "--timing-cache does not apply"),
    ({"compute_capabilities": ("8.6",)}, "--compute-capabilities is for --runtime tensorrt-rtx"),  # field names
    ({"runtime": "trt"}, "--runtime must be one of"),
])
def test_rtx_options_are_checked(kwargs, message):
    with pytest.raises(EdgesegError, match=message):
        check_settings(BuildSettings(**kwargs))


def _cpu_preset_like(path):
    """A Q/DQ graph with uint8 activations and zero point 128, as the CPU preset writes."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"),
             numpy_helper.from_array(np.array(128, np.uint8), "zp")]
    nodes = [helper.make_node("QuantizeLinear", ["input", "s", "zp"], ["q"], name="input_Q"),
             helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["logits"], name="input_DQ")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, 8, 8])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize("runtime", ["tensorrt", "tensorrt-rtx"])
def test_engine_from_the_cpu_preset_graph_is_refused_before_any_work(tmp_path, monkeypatch, runtime):
    import edgeseg.engine.builder as builder

    monkeypatch.setattr(builder, "import_module", lambda f: pytest.fail("TensorRT was loaded"))
    model = _cpu_preset_like(tmp_path / "m.int8-cpu.onnx")
    with pytest.raises(EdgesegError, match=r"m\.int8-cpu\.onnx is the CPU-preset INT8 graph \(uint8, zero point 128\)"
                                           r", which TensorRT's parser rejects \(\"Non-zero zero point is not "
                                           r"supported\"\): .*--quant-preset tensorrt"):
        build_engine(model, tmp_path / "m.engine", BuildSettings(runtime=runtime))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.int8-cpu.onnx"]


@pytest.mark.parametrize("quant", [{"preset": "cpu"}, {"preset": "tensorrt", "placement": "cpu"}])
def test_export_engine_with_the_cpu_preset_is_refused_up_front(quant):
    from edgeseg.export.options import ExportOptions, QuantOptions, check

    with pytest.raises(EdgesegError, match="--format engine: .*CPU-preset INT8 graph"):
        check(ExportOptions(precision="int8", format="engine", quant=QuantOptions(calib=__file__, **quant)))
    check(ExportOptions(precision="int8", format="onnx", quant=QuantOptions(calib=__file__, **quant)))  # the ONNX is fine
    with pytest.raises(EdgesegError, match="--timing-cache does not apply"):
        check(ExportOptions(format="engine", engine=BuildSettings(runtime="tensorrt-rtx", timing_cache="t.cache")))


LAYERS = """Layers:
Name: /c/Conv_myl0_1, LayerType: correlation, Inputs: [ { Name: a, Dimensions: [1,8,4,4], Datatype: Int8, Format: x }], Constants: [ { Name: w, Datatype: Int8 }], Outputs: [ { Name: b, Datatype: Float, Format: x }], TacticName: __myelin_CASK_STUB, StreamId: 0, Metadata: [ONNX Layer: /c/Conv][ONNX Layer: x_DQ][ONNX Layer: /c/Conv_wDQ]
Name: __myl_MulReluRounCast_myl0_2, LayerType: kgen, Inputs: [ { Name: b, Datatype: Float }], Constants: [], Outputs: [ { Name: c, Datatype: Int8 }], TacticName: __myl_MulReluRounCast_0x1, StreamId: 0, Metadata: [ONNX Layer: /r/Relu][ONNX Layer: r_Q]
Name: __myl_CastMulAdd_myl0_3, LayerType: kgen, Inputs: [ { Name: c, Datatype: Int8 }, { Name: d, Datatype: Float }], Constants: [], Outputs: [ { Name: e, Datatype: Float }], TacticName: __myl_CastMulAdd_0x2, StreamId: 0, Metadata: [ONNX Layer: r_DQ][ONNX Layer: /a/Add]
Name: entry^bb^signal^5_myl0_0, LayerType: signal, Inputs: [], Constants: [], Outputs: [], TacticName: , StreamId: 0, EventId: 1, Metadata: """


def test_qdq_fusion_from_the_layer_list():
    from onnx import helper

    nodes = [helper.make_node(op, [], [], name=name) for op, name in (
        ("DequantizeLinear", "x_DQ"), ("DequantizeLinear", "/c/Conv_wDQ"), ("Conv", "/c/Conv"), ("Relu", "/r/Relu"),
        ("QuantizeLinear", "r_Q"), ("DequantizeLinear", "r_DQ"), ("Add", "/a/Add"), ("QuantizeLinear", "cat_Q"))]
    model = helper.make_model(helper.make_graph(nodes, "g", [], []))
    assert layer_list(["Engine generation completed", LAYERS, "Adding 1 engine(s)"]) == LAYERS
    assert layer_list(["no layers here"]) is None
    kernels = parse_kernels(LAYERS)
    assert [k.type for k in kernels] == ["correlation", "kgen", "kgen", "signal"]
    assert kernels[0].inputs == ["Int8"] and kernels[1].outputs == ["Int8"]
    report = analyze(model, LAYERS)
    assert (report.quantize, report.dequantize, report.fused, report.folded) == (2, 3, 3, 1)
    assert report.unfused == ["r_DQ"]  # an INT8 tensor dequantized for a float Add
    assert re.match(r"3 of 5 Q/DQ fused into INT8 kernels, 1 folded away, 1 not fused \(r_DQ\)$", report.summary)
    assert analyze(model, "Layers:\n") is None


@pytest.mark.parametrize("args,message", [
    (["--precision", "int8", "--calib", "c.txt", "--quant-preset", "cpu"], "CPU-preset INT8 graph"),
    (["--runtime", "tensorrt-rtx", "--compute-capability", "9.0"], "--compute-capability '9.0'"),
    (["--runtime", "trt"], "--runtime must be one of"),
])
def test_export_engine_options_fail_in_one_line_before_work(tmp_path, capsys, args, message):
    from edgeseg.cli.main import main

    code = main(["export", str(tmp_path / "absent.pth"), "-o", str(tmp_path / "out"), "--format", "engine", *args])
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_runner_loads_an_rtx_engine_with_its_runtime_cache(tmp_path, monkeypatch):
    """On an RTX 4090 (faked: CUDA and TensorRT-RTX stand-ins), the runner reads ENGINE.rtxcache into the
    execution context's runtime config and writes the JIT kernels back when it closes."""
    from types import SimpleNamespace

    import edgeseg.engine.cuda as cuda_mod
    import edgeseg.engine.flavors as flavors
    from edgeseg.artifacts import sha256_file
    from edgeseg.runtime import open_runner

    cache = FakeCache(blob=b"jit kernels")
    seen = {}

    class Engine:
        num_io_tensors = 2

        def create_runtime_config(self):
            return FakeRuntimeConfig(cache)

        def create_execution_context(self, config=None):
            seen["config"] = config
            return SimpleNamespace()

        def get_tensor_name(self, i):
            return ("input", "logits")[i]

        def get_tensor_mode(self, name):
            return "in" if name == "input" else "out"

        def get_tensor_dtype(self, name):
            return SimpleNamespace(name="FLOAT")

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, plan):
            return Engine()

    fake_trt = SimpleNamespace(__version__="1.7.1.116", Runtime=Runtime, Logger=lambda severity: None,
                               TensorIOMode=SimpleNamespace(INPUT="in"))
    fake_trt.Logger.ERROR = 1
    fake_cuda = SimpleNamespace(stream=lambda: "s", event=lambda: "e", destroy_event=lambda e: None,
                                destroy_stream=lambda s: None, close=lambda: None)
    monkeypatch.setattr(cuda_mod, "open_device", lambda index: (fake_cuda, "NVIDIA GeForce RTX 4090", "8.9"))
    monkeypatch.setattr(flavors, "import_module", lambda f: fake_trt if f.aot else pytest.fail("TensorRT loaded"))
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    meta = json.loads(json.dumps(RTX_SIDECAR))
    meta["engine"]["sha256"] = sha256_file(engine)
    (tmp_path / "m.engine.json").write_text(json.dumps(meta))
    (tmp_path / "m.engine.rtxcache").write_bytes(b"earlier kernels")
    with open_runner(engine) as runner:
        assert runner.active and seen["config"].attached is cache and cache.loaded == b"earlier kernels"
        assert runner.inputs == ["input"] and runner.output == "logits"
    assert (tmp_path / "m.engine.rtxcache").read_bytes() == b"jit kernels"
