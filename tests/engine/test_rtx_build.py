"""Real TensorRT-RTX on the CPU: every export stage parsed by its ONNX parser, AOT engines built.

The trained CamVid checkpoint's FP32, FP16 (through `export --format engine`), INT8 (TensorRT
preset; the CPU preset refused with the parser's reason), a dynamic-shape export and
`--embed-preprocess --argmax uint8`, plus SPFNet18 and S²-FPN34M with golden weights, all at
small inputs and exported once per session. The `gpu` test runs an engine where a GPU is: an
RTX part runs it, any other GPU class must refuse it in one line.
"""

import importlib.util
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edgeseg.engine.builder import BuildSettings
from edgeseg.errors import EdgesegError

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("tensorrt_rtx") is None,
                                 reason="TensorRT-RTX is not installed: pip install 'edgeseg[rtx]'"),
              pytest.mark.slow]  # real builds of real models: the full run, not the fast tier
RTX = {"runtime": "tensorrt-rtx"}
GOLDEN = ("spfnet18", "s2fpn34m")


def qdq_counts(path) -> tuple[int, int]:
    import onnx

    ops = Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)
    return ops["QuantizeLinear"], ops["DequantizeLinear"]


def sidecar_of(path) -> dict:
    return json.loads(path.with_name(path.name + ".json").read_text())


@pytest.fixture(scope="session")
def trained(tmp_path_factory, trained_ckpt, camvid_root):
    """name -> ExportResult, all in one work directory so the stages they share are built once."""
    from edgeseg.data.calibset import make_manifest
    from edgeseg.export.options import ContractOptions, ExportOptions, QuantOptions, VerifyOptions
    from edgeseg.export.pipeline import run_export

    work = tmp_path_factory.mktemp("rtx")
    make_manifest(camvid_root, "camvid", "train", 100, 0, work / "calib.txt")
    calib = {"calib": str(work / "calib.txt"), "calib_data": str(camvid_root)}
    size, verify = ContractOptions(input_size=(180, 240)), VerifyOptions(num_samples=2)
    base = {"contract": size, "verify": verify}
    runs = {
        "fp32": ExportOptions(**base),
        "fp16": ExportOptions(precision="fp16", format="engine", engine=BuildSettings(**RTX), **base),  # --format engine
        "int8": ExportOptions(precision="int8", quant=QuantOptions(**calib), **base),
        "int8-cpu": ExportOptions(precision="int8", quant=QuantOptions(**calib, preset="cpu"), **base),
        "labels": ExportOptions(contract=ContractOptions(input_size=(180, 240), embed_preprocess=True, argmax="uint8"),
                                verify=verify),
        "dynamic": ExportOptions(contract=ContractOptions(input_size=(180, 240), dynamic=True,
                                                          verify_sizes=((180, 240),)), verify=verify),
    }
    return work, {name: run_export(trained_ckpt, work, options) for name, options in runs.items()}


@pytest.fixture(scope="session")
def golden(tmp_path_factory):
    """SPFNet18 and S²-FPN34M with the official golden weights, verified on the golden input."""
    from edgeseg.export.options import ContractOptions, ExportOptions, VerifyOptions
    from edgeseg.export.pipeline import run_export
    from golden import CASES, io, save_checkpoint, variant

    out = {}
    for case in GOLDEN:
        work = tmp_path_factory.mktemp(case)
        x, _ = io(case)
        save_checkpoint(case, work / "c.pth")
        np.save(work / "x.npy", x)
        dataset = "camvid" if CASES[case]["classes"] == 11 else "cityscapes"
        options = ExportOptions(contract=ContractOptions(input_size=tuple(x.shape[2:]), variant=variant(case),
                                                         dataset=dataset),
                                verify=VerifyOptions(num_samples=1, samples=str(work / "x.npy")))
        out[case] = (work, run_export(work / "c.pth", work / "out", options))
    return out


def _onnx_stages(result):
    return [s for s in result.stages if s.path is not None and s.path.suffix == ".onnx"]


@pytest.mark.parametrize("name", ["fp32", "fp16", "int8", "labels", "dynamic"])
def test_every_stage_is_read_by_the_tensorrt_parser(trained, name):
    _, results = trained
    stages = _onnx_stages(results[name])
    assert stages, name
    for stage in stages:
        parsed = sidecar_of(stage.path)["verification"]["checks"]["tensorrt_parse"]
        assert parsed["ok"] and parsed["parser"] in ("TensorRT", "TensorRT-RTX") and parsed["layers"] > 100
        assert (parsed["quantize"], parsed["dequantize"]) == qdq_counts(stage.path), stage.name
        assert stage.extra["checks"]["tensorrt_parse"] == parsed
    if name == "int8":
        assert min(qdq_counts(stages[-1].path)) > 50  # the Q/DQ graph really has them


def test_cpu_preset_graph_is_recorded_and_refused_for_engines(trained, tmp_path):
    from edgeseg.engine.builder import build_engine

    _, results = trained
    cpu_onnx = results["int8-cpu"].final
    parsed = sidecar_of(cpu_onnx)["verification"]["checks"]["tensorrt_parse"]
    assert not parsed["ok"] and "Non-zero zero point is not supported" in parsed["errors"][0]
    assert parsed["not_for_tensorrt"].startswith("the CPU-preset INT8 graph")
    with pytest.raises(EdgesegError, match=r"CPU-preset INT8 graph .*Non-zero zero point is not supported"):
        build_engine(cpu_onnx, tmp_path / "cpu.engine", BuildSettings(**RTX))
    assert not (tmp_path / "cpu.engine").exists()


def _check_engine(engine, onnx_path, precision, ccs):
    meta = sidecar_of(engine)
    target = meta["target"]
    assert target["runtime"] == "tensorrt-rtx" and target["compute_capabilities"] == list(ccs)
    assert target["tensorrt"].startswith("1.") and meta["precision"] == precision
    assert meta["engine"]["build"]["strongly_typed"] and meta["engine"]["bytes"] == engine.stat().st_size > 1e6
    assert (engine.parent / meta["provenance"]["parent"]["path"]).resolve() == Path(onnx_path).resolve()
    return meta


@pytest.mark.parametrize("name,precision", [("fp32", "fp32"), ("int8", "int8"), ("labels", "fp32")])
def test_aot_engines_of_the_trained_checkpoint(trained, name, precision):
    from edgeseg.engine.builder import build_engine

    work, results = trained
    onnx_path = results[name].final
    engine = build_engine(onnx_path, work / f"{name}.engine", BuildSettings(**RTX), progress=False)
    meta = _check_engine(engine, onnx_path, precision, ("8.6", "8.9", "12.0", "12.1"))
    if name == "labels":
        assert meta["io"]["input"]["dtype"] == "uint8" and meta["io"]["input"]["layout"] == "NHWC"
        assert meta["io"]["output"] == {**meta["io"]["output"], "dtype": "uint8", "kind": "labels"}
    if name == "int8":
        _check_fusion(meta["engine"]["qdq_fusion"], onnx_path)


def _check_fusion(fusion, onnx_path):
    """Every Q/DQ is accounted for, and none left unfused sits in front of a Conv (what INT8 speed needs)."""
    import onnx

    q, dq = qdq_counts(onnx_path)
    assert (fusion["quantize"], fusion["dequantize"]) == (q, dq)
    assert fusion["fused"] + fusion["folded"] + len(fusion["unfused"]) == q + dq
    assert fusion["fused"] >= 0.8 * (q + dq)
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    by_name = {n.name: n for n in graph.node}
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n.op_type)
    for name in fusion["unfused"]:
        assert "Conv" not in consumers.get(by_name[name].output[0], []), name


def test_export_format_engine_builds_with_tensorrt_rtx(trained):
    _, results = trained
    result = results["fp16"]
    assert [s.name for s in result.stages][-2:] == ["fp16", "engine"] and result.final.suffix == ".engine"
    _check_engine(result.final, result.stages[-2].path, "fp16", ("8.6", "8.9", "12.0", "12.1"))


def test_build_cli_dynamic_model_for_named_gpus(trained, capsys):
    from edgeseg.cli.main import main

    work, results = trained
    onnx_path, engine = results["dynamic"].final, work / "dynamic.engine"
    args = ["build", str(onnx_path), "-o", str(engine), "--runtime", "tensorrt-rtx", "--no-progress"]
    assert main(args) == 1 and "is dynamic" in capsys.readouterr().err and not engine.exists()
    assert main([*args, "--compute-capability", "8.6,12.0", "--shapes", "1x3x180x240:1x3x180x240:1x3x360x480"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(engine) and "TensorRT-RTX 1." in err and "sm_86/sm_120 (ahead of time)" in err
    meta = _check_engine(engine, onnx_path, "fp32", ("8.6", "12.0"))
    assert meta["engine"]["build"]["shapes"] == "1x3x180x240:1x3x180x240:1x3x360x480"
    assert meta["io"]["input"]["shape"] == [None, 3, None, None]  # dynamic batch, height, width


@pytest.mark.parametrize("case", GOLDEN)
def test_golden_architectures_parse_and_build(golden, case):
    from edgeseg.engine.builder import build_engine

    work, result = golden[case]
    for stage in _onnx_stages(result):
        assert sidecar_of(stage.path)["verification"]["checks"]["tensorrt_parse"]["ok"], stage.name
    engine = build_engine(result.final, work / f"{case}.engine", BuildSettings(compute_capabilities="8.9", **RTX),
                          progress=False)
    meta = _check_engine(engine, result.final, "fp32", ("8.9",))
    assert meta["model"]["variant"] == case


@pytest.mark.gpu
def test_rtx_engine_on_this_gpu(trained, camvid_root):
    """On an RTX GPU the engine agrees with ONNX Runtime; on any other GPU class it is refused in one line."""
    from edgeseg.engine import rtx
    from edgeseg.engine.builder import build_engine
    from edgeseg.engine.cuda import open_device
    from edgeseg.runtime import open_runner

    try:
        _, gpu, cc = open_device(0)
    except EdgesegError as exc:
        pytest.skip(f"no usable CUDA GPU: {exc}")
    work, results = trained
    onnx_path = results["fp32"].final
    engine = build_engine(onnx_path, work / "gpu-fp32.engine", BuildSettings(**RTX), progress=False)
    runner = open_runner(engine)
    if cc not in rtx.RTX_GPUS:
        with pytest.raises(EdgesegError, match=r"not an RTX-class GPU TensorRT-RTX runs on") as info:
            runner.activate()
        assert "\n" not in str(info.value) and gpu in str(info.value)
        return
    from edgeseg.bench.accuracy import evaluate
    from edgeseg.data.datasets import open_dataset

    with open_runner(onnx_path) as reference, runner:
        report = evaluate([reference, runner], open_dataset(camvid_root, "camvid", "val")).to_dict()
    assert report["artifacts"][1]["agreement"] >= 99.9
    assert rtx.cache_path(engine).stat().st_size > 0
