"""The TensorRT runner.

Without a GPU: construction is cheap, the sidecar is required and read without TensorRT,
and activation fails with one line. With CUDA and TensorRT (marked `gpu`, skipped
elsewhere): FP32 / FP16 / INT8 engines of the trained CamVid checkpoint are built for real
and their argmax is compared with ONNX Runtime on CPU running the same ONNX, over the 101
camvid-half val images; plus CUDA graphs, dynamic shapes and the mismatch refusal.
"""

import hashlib
import importlib.util
import json
import shutil

import numpy as np
import pytest

from edgeseg.errors import EdgesegError
from edgeseg.runtime import open_runner
from edgeseg.runtime.tensorrt_runner import TensorRTRunner

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
MIN_AGREEMENT = {"fp32": 0.999, "fp16": 0.995, "int8": 0.98}
SIDECAR = {
    "format": "edgeseg-artifact/1", "kind": "engine", "stage": "engine", "precision": "fp16",
    "preprocess": {"mean_bgr": [105.65775, 103.32983, 99.6254], "channel_order": "RGB", "input_size": [180, 240]},
    "io": {"input": {"name": "input", "dtype": "float32", "layout": "NCHW", "shape": [1, 3, 180, 240]},
           "output": {"name": "logits", "dtype": "float32", "kind": "logits", "shape": [1, 11, 180, 240]}},
    "target": {"tensorrt": "10.3.0.30", "gpu": "Orin", "compute_capability": "8.7"},
    "engine": {"sha256": hashlib.sha256(b"plan").hexdigest()},  # the b"plan" files below: a sidecar of its own plan
}


# -- no GPU needed ------------------------------------------------------------------------------
def test_sidecar_drives_io_spec_without_tensorrt(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    (tmp_path / "m.engine.json").write_text(json.dumps(SIDECAR))
    runner = open_runner(engine, cuda_graph=True)
    assert isinstance(runner, TensorRTRunner) and runner.cuda_graph and not runner.active
    spec = runner.io_spec
    assert (spec.input_dtype, spec.input_layout, spec.input_shape, spec.output) == \
        ("float32", "NCHW", (1, 3, 180, 240), "logits")
    assert runner.metadata["precision"] == "fp16" and runner.description == "tensorrt cuda-graph"


def test_engine_without_sidecar_is_refused(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    with pytest.raises(EdgesegError, match="no sidecar m.engine.json"):
        TensorRTRunner(engine).activate()


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_activate_without_tensorrt_is_one_line(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    (tmp_path / "m.engine.json").write_text(json.dumps(SIDECAR))
    runner = TensorRTRunner(engine)
    with pytest.raises(EdgesegError, match="TensorRT is not installed"):
        runner.activate()
    assert not runner.active


def test_dla_engine_is_loaded_on_its_core(tmp_path, monkeypatch):
    """TensorRT's runtime puts every DLA engine on core 0 unless told the core; the sidecar knows it."""
    from types import SimpleNamespace

    import edgeseg.engine.builder as builder
    import edgeseg.engine.cuda as cuda_mod
    from edgeseg.engine import sidecar
    from edgeseg.runtime.tensorrt_runner import built_dla_core

    seen = {}

    class Runtime:
        DLA_core = -1

        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, plan):
            seen["core"] = self.DLA_core
            return None  # stop here: the rest needs a GPU

    fake_trt = SimpleNamespace(__version__="10.3.0.30", Runtime=Runtime, Logger=lambda severity: None)
    fake_trt.Logger.ERROR = 1
    monkeypatch.setattr(builder, "import_tensorrt", lambda: fake_trt)
    monkeypatch.setattr(cuda_mod, "open_device", lambda index: (None, "Orin", "8.7"))
    monkeypatch.setattr(sidecar, "check_compatible", lambda *a: None)
    monkeypatch.setattr(sidecar, "check_plan_hash", lambda *a: None)
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"plan")
    meta = json.loads(json.dumps(SIDECAR))
    meta["engine"]["build"] = {"options": {"dla_core": 1}}
    (tmp_path / "m.engine.json").write_text(json.dumps(meta))
    with pytest.raises(EdgesegError, match="could not deserialize"):
        TensorRTRunner(engine).activate()
    assert seen["core"] == 1
    assert built_dla_core(meta) == 1 and built_dla_core(SIDECAR) is None


# -- real engines (GPU) -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gpu():
    if not HAS_TRT:
        pytest.skip("TensorRT is not installed (needs an NVIDIA GPU): pip install 'edgeseg[tensorrt]'")
    from edgeseg.engine.cuda import open_device

    try:
        return open_device(0)[1]
    except EdgesegError as exc:
        pytest.skip(f"no usable CUDA GPU: {exc}")


@pytest.fixture(scope="module")
def exports(gpu, tmp_path_factory, trained_ckpt, camvid_root):
    """fp32 / fp16 / int8 ONNX of the trained checkpoint at 180x240, one work directory."""
    from edgeseg.data.calibset import make_manifest
    from edgeseg.export.options import ContractOptions, ExportOptions, QuantOptions
    from edgeseg.export.pipeline import run_export

    work = tmp_path_factory.mktemp("trt")
    manifest = work / "calib-train-300.txt"
    make_manifest(camvid_root, "camvid", "train", 300, 0, manifest)
    out = {}
    for precision in ("fp32", "fp16", "int8"):
        quant = QuantOptions(calib=str(manifest), calib_data=str(camvid_root)) if precision == "int8" else QuantOptions()
        options = ExportOptions(contract=ContractOptions(input_size=(180, 240)), precision=precision, quant=quant)
        out[precision] = run_export(trained_ckpt, work, options).final
    return work, out


@pytest.fixture(scope="module")
def engines(exports):
    from edgeseg.engine.builder import BuildSettings, build_engine

    work, onnx_paths = exports
    settings = BuildSettings(timing_cache=str(work / "timing.cache"))
    return {p: build_engine(onnx_paths[p], work / f"{p}.engine", settings, progress=False)
            for p in ("fp32", "fp16", "int8")}


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_engine_agrees_with_onnxruntime_cpu(exports, engines, camvid_root, precision):
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.data.datasets import open_dataset
    from edgeseg.engine import sidecar

    work, onnx_paths = exports
    meta = sidecar.read(engines[precision])
    assert meta["precision"] == precision and meta["preprocess"]["mean_bgr"][0] == pytest.approx(105.65775)
    assert meta["engine"]["build"]["strongly_typed"] == (int(meta["target"]["tensorrt"].split(".")[0]) >= 11)
    assert (work / "timing.cache").stat().st_size > 0
    with open_runner(onnx_paths[precision]) as reference, open_runner(engines[precision]) as runner:
        report = evaluate([reference, runner], open_dataset(camvid_root, "camvid", "val")).to_dict()
        assert report["images"] == 101
        agreement = report["artifacts"][1]["agreement"] / 100
        assert agreement >= MIN_AGREEMENT[precision], f"{precision}: {agreement:.4%} of pixels agree"
        t = runner.last_timing
        assert t.compute_ms > 0 and t.h2d_ms > 0 and t.d2h_ms > 0


@pytest.mark.gpu
def test_cuda_graph_gives_the_same_output(engines):
    batch = np.random.default_rng(0).normal(0, 50, (1, 3, 180, 240)).astype(np.float32)
    with TensorRTRunner(engines["fp16"]) as plain, TensorRTRunner(engines["fp16"], cuda_graph=True) as graphed:
        expected = plain.infer(batch)
        for _ in range(3):  # first call captures, the next ones replay
            np.testing.assert_array_equal(graphed.infer(batch), expected)
        assert graphed.last_timing.extra["cuda_graph"] and expected.dtype == np.float32


@pytest.mark.gpu
def test_submitted_batches_in_two_slots_equal_infer(engines):
    """`submit` (two pinned slots on one stream, for `edgeseg run`) gives what `infer` gives, and
    `infer` after it still reads its own buffers."""
    rng = np.random.default_rng(1)
    batches = [rng.normal(0, 50, (1, 3, 180, 240)).astype(np.float32) for _ in range(5)]
    with TensorRTRunner(engines["fp16"]) as runner:
        expected = [runner.infer(b) for b in batches]
        pending = [runner.submit(batches[0])]
        got = []
        for b in batches[1:]:
            pending.append(runner.submit(b))
            got.append(pending.pop(0)())
        got.append(pending.pop(0)())
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(runner.infer(batches[2]), expected[2])


@pytest.mark.gpu
def test_dynamic_model_runs_at_every_profile_size(gpu, tmp_path, trained_ckpt):
    from edgeseg.engine.builder import BuildSettings, build_engine
    from edgeseg.export.options import ContractOptions, ExportOptions
    from edgeseg.export.pipeline import run_export

    contract = ContractOptions(dynamic=True, verify_sizes=((180, 240),), input_size=(180, 240))
    onnx_path = run_export(trained_ckpt, tmp_path, ExportOptions(contract=contract)).final
    with pytest.raises(EdgesegError, match="is dynamic"):
        build_engine(onnx_path, tmp_path / "d.engine", progress=False)
    engine = build_engine(onnx_path, tmp_path / "d.engine", BuildSettings(shapes="1x3x180x240:1x3x360x480:2x3x360x480"),
                          progress=False)
    with TensorRTRunner(engine) as runner:
        for shape in ((1, 3, 180, 240), (2, 3, 360, 480), (1, 3, 240, 320)):
            assert runner.infer(np.zeros(shape, np.float32)).shape == (shape[0], 11, *shape[2:])
        with pytest.raises(EdgesegError, match="does not fit the engine, which takes shapes from"):
            runner.infer(np.zeros((1, 3, 720, 960), np.float32))


@pytest.mark.gpu
def test_engine_from_another_machine_is_refused(engines, tmp_path):
    copy = tmp_path / "elsewhere.engine"
    shutil.copy(engines["fp32"], copy)
    meta = json.loads(engines["fp32"].with_name("fp32.engine.json").read_text())
    meta["target"].update(tensorrt="8.6.2.3", gpu="Orin", compute_capability="8.7", l4t="36.3.0")
    (tmp_path / "elsewhere.engine.json").write_text(json.dumps(meta))
    with pytest.raises(EdgesegError, match=r"built with TensorRT 8\.6\.2\.3 on Orin \(sm_87\).*rebuild it here"):
        TensorRTRunner(copy).activate()
