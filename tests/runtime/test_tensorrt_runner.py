"""Real TensorRT build-and-run tests: FP32 / FP16 / INT8 engines of the trained CamVid checkpoint
against ONNX Runtime on CPU over the camvid-half val images. Run only where CUDA and TensorRT exist."""

import importlib.util

import numpy as np
import pytest

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="TensorRT is not installed (needs an NVIDIA GPU)"),
]

MIN_AGREEMENT = {"fp32": 0.999, "fp16": 0.995, "int8": 0.98}


@pytest.fixture(scope="module")
def exports(tmp_path_factory, trained_ckpt, camvid_root):
    from edgeseg.data.calibset import make_manifest
    from edgeseg.export.options import ExportOptions
    from edgeseg.export.pipeline import run_export

    work = tmp_path_factory.mktemp("trt")
    manifest = work / "calib.txt"
    make_manifest(camvid_root, "camvid", "train", 300, 0, manifest)
    out = {}
    for precision in ("fp32", "fp16", "int8"):
        quant = {"calib": str(manifest), "data": str(camvid_root)} if precision == "int8" else {}
        out[precision] = run_export(trained_ckpt, work, ExportOptions(input_size=(180, 240), precision=precision,
                                                                      quant=quant)).final
    return work, out


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_engine_agrees_with_onnxruntime(exports, camvid_root, precision):
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.data.datasets import open_dataset
    from edgeseg.engine.builder import build_engine
    from edgeseg.runtime import open_runner

    work, onnx_paths = exports
    engine = work / f"{precision}.engine"
    meta = build_engine(onnx_paths[precision], engine, timing_cache=work / "timing.cache")
    assert meta["precision"] == precision and engine.stat().st_size > 0
    reference = open_runner(onnx_paths["fp32"]).activate()
    runner = open_runner(engine).activate()
    report = evaluate([reference, runner], open_dataset(camvid_root, "camvid", "val")).to_dict()
    agreement = report["artifacts"][1]["agreement"] / 100
    assert agreement >= MIN_AGREEMENT[precision], f"{precision}: {agreement:.4%}"
    assert runner.last_timing.compute_ms is not None and runner.last_timing.compute_ms > 0
