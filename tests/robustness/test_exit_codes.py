"""Exit 0 only when the numbers are real (issue 22 D): failures, NaN and mismatches are refused."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from cliproc import cli, refused
from tiny import tiny_onnx


@pytest.fixture(scope="module")
def fleet_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fleet")
    good, bad = tiny_onnx(folder / "good.onnx"), tiny_onnx(folder / "bad.onnx")
    model = onnx.load(bad)  # 4 input channels for a 3-channel input: no backend compiles it
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.zeros((11, 4, 1, 1), np.float32), "w"))
    onnx.save(model, bad)
    return good, bad, tiny_onnx(folder / "fp8.onnx", precision="fp8")


@pytest.mark.slow
def test_fleet_bench_with_a_failed_row_exits_non_zero(fleet_models, tmp_path):
    """D1 (and F: no --json and no --iters are fine): the table prints, then the run fails."""
    pytest.importorskip("ray")
    good, bad, fp8 = fleet_models
    p = cli("fleet", "bench", good, bad, fp8, "--ray", "local", "--warmup", "1", "--input-size", "36x48",
            cwd=tmp_path, timeout=240)
    line = refused(p, "1 of 3 benchmark rows failed", "bad.onnx")
    assert "good.onnx" in p.stdout and "skipped" in p.stdout, p.stdout  # fp8: not this profile's, not a failure
    assert "fp8.onnx" not in line


@pytest.mark.slow
def test_fleet_bench_outputs_refused_before_the_cluster(fleet_models, tmp_path):
    """E5: an unwritable --json/--md/--plot fails in the first second, before Ray starts."""
    good = fleet_models[0]
    for flag in ("--json", "--md", "--plot"):
        p = cli("fleet", "bench", good, "--ray", "local", flag, "/proc/nowhere/out")
        refused(p, flag, "cannot write")
        assert "targets:" not in p.stderr


def test_fleet_bench_fp8_takes_calib(tmp_path):
    """F: fp8 exports with calibration like int8, so --calib is its option too (refused only for a missing file)."""
    ckpt = tmp_path / "m.pth"
    ckpt.write_bytes(b"junk")
    p = cli("fleet", "bench", ckpt, "--ray", "local", "--precisions", "fp8")
    refused(p, "--precisions fp8 exports with calibration")


@pytest.mark.slow
def test_fleet_bench_fp8_passes_calib_to_the_export(tmp_path):
    """F: with --calib, fp8 reaches the export (here: a junk checkpoint), never 'needs --calib'."""
    pytest.importorskip("ray")
    from cliproc import REPO

    ckpt = tmp_path / "m.pth"
    ckpt.write_bytes(b"\x00not a checkpoint" * 10)
    p = cli("fleet", "bench", ckpt, "--ray", "local", "--precisions", "fp8", "--calib", REPO / "calib" / "camvid-demo.txt",
            "--work-dir", tmp_path / "w", timeout=240)
    line = refused(p, "m.pth")
    assert "--calib" not in line


def _png(path, array):
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array)
    return path


@pytest.mark.slow
def test_eval_with_every_label_pixel_ignored_is_refused(tmp_path):
    """D2: mIoU of nothing is no number: one line, exit 1, no JSON with a bare NaN."""
    for i in range(2):
        _png(tmp_path / "d" / "img" / f"{i}.png", np.full((12, 16, 3), 90, np.uint8))
        _png(tmp_path / "d" / "lab" / f"{i}.png", np.full((12, 16), 11, np.uint8))  # CamVid ignore index
    (tmp_path / "d" / "list.txt").write_text("".join(f"img/{i}.png lab/{i}.png\n" for i in range(2)))
    model = tiny_onnx(tmp_path / "m.onnx")
    p = cli("eval", model, "--val", f"{tmp_path / 'd'}:list.txt", "--json", tmp_path / "r.json")
    refused(p, "no labelled pixel", "11 (ignored)")
    assert not (tmp_path / "r.json").exists()


def test_cityscapes_list_mixing_label_kinds_is_refused(tmp_path):
    """D3: labelIds need the id->trainId table, labelTrainIds none: one table for both is wrong mIoU."""
    root = tmp_path / "cs"
    lines = []
    for name, kind in (("a", "labelIds"), ("b", "labelTrainIds")):
        _png(root / "img" / f"{name}.png", np.zeros((8, 8, 3), np.uint8))
        _png(root / "gt" / f"{name}_gtFine_{kind}.png", np.zeros((8, 8), np.uint8))
        lines.append(f"img/{name}.png gt/{name}_gtFine_{kind}.png\n")
    (root / "list.txt").write_text("".join(lines))
    p = cli("bench", tiny_onnx(tmp_path / "m.onnx"), "--val", f"{root}:list.txt", "--dataset", "cityscapes")
    refused(p, "mixes _labelIds.png", "_labelTrainIds.png")


@pytest.mark.slow
def test_predict_compare_across_label_spaces_is_refused(tmp_path):
    """D4: an agreement figure between models of different classes is refused, before any image."""
    from edgeseg.artifacts import metadata_dict, set_onnx_metadata, write_sidecar

    other = tiny_onnx(tmp_path / "other.onnx", seed=1)
    meta = metadata_dict(other)
    meta["dataset"]["classes"] = [f"class{i}" for i in range(11)]
    model = onnx.load(other)
    set_onnx_metadata(model, meta)
    onnx.save(model, other)
    write_sidecar(other, meta)
    image = _png(tmp_path / "in" / "x.png", np.zeros((12, 16, 3), np.uint8))
    p = cli("predict", tiny_onnx(tmp_path / "m.onnx"), image, "-o", tmp_path / "out", "--compare", other)
    refused(p, "different label spaces", "class 0")
    assert not list(tmp_path.rglob("*_diff.png"))


def _fp8_onnx(path):
    """The tiny model behind one FP8 Q/DQ pair (opset 19): what `uses_fp8` and TensorRT see as FP8."""
    from onnx import TensorProto, helper

    tiny_onnx(path, precision="fp8")
    model = onnx.load(path)
    g = model.graph
    g.initializer.extend([numpy_helper.from_array(np.array(0.05, np.float32), "s"),
                          helper.make_tensor("zp", TensorProto.FLOAT8E4M3FN, [], [0])])
    g.node[0].input[0] = "xdq"
    g.node.insert(0, helper.make_node("DequantizeLinear", ["xq", "s", "zp"], ["xdq"]))
    g.node.insert(0, helper.make_node("QuantizeLinear", ["input", "s", "zp"], ["xq"]))
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", 19))
    onnx.save(model, path)
    return path


ENGINE_CASES = [
    (("--device", "dgx-spark", "--compute-capability", "8.6"), ("--device dgx-spark", "include 12.1")),
    (("--device", "jetson-orin"), ("TensorRT-RTX does not run on Jetson",)),
    (("--precision", "fp8", "--calib", "calib/camvid-demo.txt", "--compute-capability", "8.6,8.9"),
     ("FP8 engine needs compute capability 8.9+", "8.6")),
    (("--deepstream",), ("--deepstream with --runtime tensorrt-rtx", "nvinfer")),
]


@pytest.mark.parametrize("args,words", ENGINE_CASES, ids=[c[1][0][:30] for c in ENGINE_CASES])
def test_rtx_engine_a_device_cannot_run_is_refused_before_the_export(tmp_path, args, words):
    """D5, D6, E5: refused from the options, before the checkpoint loads (it is junk here)."""
    from cliproc import REPO

    ckpt = tmp_path / "junk.pth"
    ckpt.write_bytes(b"\x00not a checkpoint" * 10)
    p = cli("export", ckpt, "-o", tmp_path / "out", "--format", "engine", "--runtime", "tensorrt-rtx", *args, cwd=REPO)
    refused(p, *words)
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def rtx(tmp_path_factory):
    import importlib.util

    if importlib.util.find_spec("tensorrt_rtx") is None:
        pytest.skip("TensorRT-RTX is not installed (it builds on any machine when it is)")
    return tmp_path_factory.mktemp("rtx")


SHAPES = ("--shapes", "1x3x8x8:1x3x8x8:1x3x8x8", "--runtime", "tensorrt-rtx")


@pytest.mark.slow
def test_fp8_rtx_engine_by_default_drops_targets_without_fp8(rtx):
    """D6: the default targets include 8.6 (no FP8): the build leaves it out, says so, and succeeds."""
    import json

    model = _fp8_onnx(rtx / "q8.onnx")
    p = cli("build", model, "-o", rtx / "q8.engine", *SHAPES)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "8.6 has no FP8" in p.stderr
    ccs = json.loads((rtx / "q8.engine.json").read_text())["target"]["compute_capabilities"]
    assert "8.6" not in ccs and "8.9" in ccs
    refused(cli("build", model, "-o", rtx / "q8b.engine", *SHAPES, "--compute-capability", "8.6,8.9"),
            "FP8 engine needs compute capability 8.9+")
    assert not (rtx / "q8b.engine").exists()


@pytest.mark.slow
def test_deepstream_of_an_rtx_engine_is_refused(rtx):
    """D5: nvinfer is full TensorRT; a config pointing at an RTX plan would not load."""
    model = tiny_onnx(rtx / "a.onnx")
    assert cli("build", model, "-o", rtx / "a.engine", *SHAPES).returncode == 0
    refused(cli("deepstream", rtx / "a.engine"), "TensorRT-RTX engine", "nvinfer")
    assert not list(rtx.glob("*.nvinfer.txt"))


@pytest.mark.slow
def test_bench_of_fp8_on_a_profile_without_fp8_fails_its_row(rtx):
    """D5: ONNX Runtime would time an FP8 emulation on the CPU profile; the row says why and the run fails."""
    refused(cli("bench", _fp8_onnx(rtx / "b8.onnx"), "--device", "cpu", "--iters", "2"), "FP8", "no FP8 path")


def test_int8_engine_with_few_qdq_fused_is_warned_about():
    """D6: TensorRT-RTX for 7.5 fused 21 of 332 Q/DQ of S2-FPN, silently; the build now warns and the
    sidecar's qdq_fusion carries the warning. (The tiny graphs here fuse fully, so the report is built
    as the builder builds it from the layer list.)"""
    from edgeseg.engine.qdq_fusion import FusionReport

    few = FusionReport(120, 166, 166, 21, 0, [f"q{i}" for i in range(311)])
    assert "only 21 of 332 Q/DQ fused" in few.warning(" for sm_75")
    assert few.to_dict()["warning"] == few.warning()
    assert FusionReport(120, 166, 166, 300, 20, [f"q{i}" for i in range(12)]).warning() is None


def test_fail_on_budget_ends_the_export_before_the_artifact(tmp_path):
    """D7: with --fail-on-budget a missed --max-miou-drop is an error (exit 1, nothing written), not a warning;
    without --max-miou-drop it is refused before the checkpoint loads."""
    from types import SimpleNamespace

    from cliproc import REPO
    from edgeseg.errors import EdgesegError
    from edgeseg.export.quantized_stage import Int8
    from edgeseg.quant.config import QuantConfig

    ckpt = tmp_path / "junk.pth"
    ckpt.write_bytes(b"\x00not a checkpoint" * 10)
    p = cli("export", ckpt, "-o", tmp_path / "out", "--precision", "int8", "--calib", REPO / "calib" / "camvid-demo.txt",
            "--fail-on-budget")
    refused(p, "--fail-on-budget only applies with --max-miou-drop")
    missed = {"drop_after": 0.9, "kept_float": ["a"]}
    stage = SimpleNamespace(config=QuantConfig(max_miou_drop=0.3), fail_on_budget=True)
    with pytest.raises(EdgesegError, match="--fail-on-budget: INT8 drop 0.900 is still above the budget 0.3"):
        Int8._summary(stage, missed)
    assert "budget" in Int8._summary(SimpleNamespace(config=stage.config, fail_on_budget=False), missed)
