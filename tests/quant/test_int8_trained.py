"""INT8 export of the trained CamVid checkpoint: accuracy within budget on all of camvid-half val,
downsample adds quantized, FP16 remainder, parsed by TensorRT-RTX, cached ranges reused,
calibration files written beside the model, bad calibration input refused with nothing written."""

import json
from pathlib import Path

import onnx
import pytest

from edgeseg.cli.main import main
from edgeseg.data.calibset import make_manifest
from edgeseg.quant.placement import Graph

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, camvid_root):
    path = tmp_path_factory.mktemp("calib") / "train-40.txt"
    make_manifest(camvid_root, "camvid", "train", 40, 0, path)
    return path


def export(capsys, ckpt, out, *extra, precision="int8"):
    code = main(["export", str(ckpt), "-o", str(out), "--input-size", "180x240", "--precision", precision, *extra])
    o, e = capsys.readouterr()
    return code, o, e


@pytest.fixture(scope="module")
def int8_export(tmp_path_factory, trained_ckpt, camvid_root, manifest):
    """One TensorRT-target INT8 export, evaluated on all 101 val images; shared by the tests below."""
    out = tmp_path_factory.mktemp("int8")
    code = main(["export", str(trained_ckpt), "-o", str(out), "--input-size", "180x240", "--precision", "int8",
                 "--calib", str(manifest), "--calib-data", str(camvid_root), "--val", f"{camvid_root}:val"])
    assert code == 0
    final = out / "s2fpn18_180x240.int8.onnx"
    return {"dir": out, "path": final, "report": json.loads(Path(str(final) + ".quant.json").read_text())}


def test_int8_within_budget_on_val(int8_export):
    report = int8_export["report"]
    assert report["calib_images"] == 40 and report["method"] == "percentile" and not report["ranges_reused"]
    assert report["fp32_miou"] == pytest.approx(61.433, abs=0.01)
    assert report["drop_after"] <= 0.3 and report["quantized_layers"] > 100
    assert report["float_compute"] == "fp16" and report["opset"] == 19
    assert "fewer than 300" in report["warning"]
    assert open(str(int8_export["path"]) + ".calib.cache").readline().startswith("TRT-")


def test_int8_graph_downsample_adds_and_fp16_remainder(int8_export, graph_types):
    float_compute_types, _ = graph_types
    onnx.checker.check_model(str(int8_export["path"]), full_check=True)
    model = onnx.load(str(int8_export["path"]))
    g = Graph(model)
    for stage in ("conv3_x", "conv4_x", "conv5_x"):  # the three downsample blocks: Add(conv2, projection)
        add = next(n for n in g.nodes if n.name == f"/{stage}/{stage}.0/Add")
        dq = [g.nodes[g.producer[t]] for t in add.input if g.op_of(t) == "DequantizeLinear"]
        assert len(dq) == 1  # one input quantized: the projection, so conv2 fuses the add
        q = g.nodes[g.producer[dq[0].input[0]]]
        src = g.nodes[g.producer[q.input[0]]]
        if src.op_type == "Add":  # the projection's bias, out of the Conv for ONNX Runtime (quant/bias.py)
            src = g.nodes[g.producer[src.input[0]]]
        assert src.name == f"/{stage}/{stage}.0/downsample/downsample.0/Conv"
    compute = float_compute_types(model)
    assert set(compute) >= {"Conv", "Add", "Mul", "MatMul", "Softmax", "Sigmoid", "PRelu"}
    assert all(t == {onnx.TensorProto.FLOAT16} for t in compute.values()), compute
    io = list(model.graph.input) + list(model.graph.output)
    assert {v.type.tensor_type.elem_type for v in io} == {onnx.TensorProto.FLOAT}


def test_int8_parsed_by_tensorrt_rtx(int8_export, rtx_build):
    model = onnx.load(str(int8_export["path"]), load_external_data=False)
    result = rtx_build(int8_export["path"], ("SM89",))
    assert result["errors"] == [] and result["built"]
    ops = [n.op_type for n in model.graph.node]
    assert result["layers"]["QUANTIZE"] == ops.count("QuantizeLinear")
    assert result["layers"]["DEQUANTIZE"] == ops.count("DequantizeLinear")


def test_cpu_target_reuses_ranges_and_is_unchanged(int8_export, capsys, trained_ckpt, camvid_root, manifest):
    code, out, err = export(capsys, trained_ckpt, int8_export["dir"], "--calib", str(manifest), "--calib-data",
                            str(camvid_root), "--placement", "cpu")
    assert code == 0 and "reusing calibrated ranges" in err
    model = onnx.load(out.strip().splitlines()[-1], load_external_data=False)
    zps = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("_qzp")}
    assert zps and all(z.dtype.name == "uint8" and z == 128 for z in zps.values())
    assert model.opset_import[0].version == 17 and not any(i.data_type == 10 for i in model.graph.initializer)


def test_device_cpu_exports_the_cpu_placement(int8_export, capsys, trained_ckpt, camvid_root, manifest, monkeypatch):
    """--device cpu picks the placement measured for this CPU's ISA: on a VNNI CPU without AMX (where it
    was measured), the same file --placement cpu makes."""
    from edgeseg.platform import hardware

    monkeypatch.setattr(hardware, "this_cpu_flags", lambda: ("avx2", "avx512f", "avx512_vnni", "avx512_bf16"))
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")
    args = ("--calib", str(manifest), "--calib-data", str(camvid_root))
    _, by_target, _ = export(capsys, trained_ckpt, int8_export["dir"], *args, "--placement", "cpu")
    code, by_device, err = export(capsys, trained_ckpt, int8_export["dir"], *args, "--device", "cpu")
    assert code == 0 and by_device.strip().splitlines()[-1] == by_target.strip().splitlines()[-1]
    assert "-cpu" in Path(by_device.strip().splitlines()[-1]).name


def test_fp32_rest_makes_an_opset_17_graph_for_tensorrt_8_6(int8_export, capsys, trained_ckpt, camvid_root, manifest,
                                                            graph_types):
    float_compute_types, _ = graph_types
    code, out, err = export(capsys, trained_ckpt, int8_export["dir"], "--calib", str(manifest), "--calib-data",
                            str(camvid_root), "--fp32-rest")
    assert code == 0 and "reusing calibrated ranges" in err, err
    path = Path(out.strip().splitlines()[-1])
    assert path.name == "s2fpn18_180x240.int8-fp32rest.onnx"
    model = onnx.load(str(path), load_external_data=False)
    assert model.opset_import[0].version == 17 and not any(i.data_type == 10 for i in model.graph.initializer)
    assert all(t == {onnx.TensorProto.FLOAT} for t in float_compute_types(model).values())
    report = json.loads(Path(str(path) + ".quant.json").read_text())
    assert report["float_compute"] == "fp32" and report["opset"] == 17


def test_overlap_with_val_refused(tmp_path, capsys, trained_ckpt, camvid_root):
    code, _, err = export(capsys, trained_ckpt, tmp_path, "--calib", str(camvid_root / "camvid_val_list.txt"),
                          "--val", f"{camvid_root}:val")
    assert code == 1 and "also in the evaluation split" in err
    assert not list(tmp_path.glob("*int8*"))


@pytest.mark.parametrize("make,message", [
    (lambda d: d.mkdir() or d, "holds no images"),
    (lambda d: (d.write_text("train/none.png\n"), d)[1], "do not exist"),
])
def test_bad_calibration_input(tmp_path, capsys, trained_ckpt, make, message):
    source = make(tmp_path / "calib_src")
    code, _, err = export(capsys, trained_ckpt, tmp_path / "out", "--calib", str(source))
    assert code == 1 and message in err and err.count("\n") >= 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*int8*"))
