"""DeepStream nvinfer configs: an INI nvinfer can read, whose preprocessing keys reproduce the contract.

nvinfer documents its preprocessing as y = net-scale-factor * (x - offsets[c]) on the frame converted
to model-color-format (planar); applying exactly that to real CamVid images must give the tensor
`Preprocess.apply` gives. DeepStream itself is not installed here: nothing below runs nvinfer.
"""

import configparser
import copy

import numpy as np
import pytest

from edgeseg.artifacts import metadata_dict
from edgeseg.data.contract import DatasetInfo, Preprocess
from edgeseg.errors import EdgesegError
from edgeseg.export.deepstream import check_export_options, config_path, nvinfer_config, write_nvinfer_config
from edgeseg.export.options import export_options as ExportOptions

SIZE = (180, 240)


def parse(text: str) -> dict:
    ini = configparser.ConfigParser(interpolation=None)  # nvinfer reads it with GKeyFile: plain INI
    ini.read_string(text)
    assert ini.sections() == ["property"]
    return dict(ini["property"])


def nvinfer_input(image_bgr: np.ndarray, prop: dict) -> np.ndarray:
    """nvinfer's documented preprocessing, applied to an image already at the network size."""
    fmt = int(prop["model-color-format"])
    planes = {0: image_bgr[:, :, ::-1], 1: image_bgr}[fmt].astype(np.float32).transpose(2, 0, 1)
    offsets = np.array([float(v) for v in prop["offsets"].split(";")], np.float32).reshape(3, 1, 1)
    return np.float32(prop["net-scale-factor"]) * (planes - offsets)


def nvinfer_segmentation(scores: np.ndarray, threshold: float) -> np.ndarray:
    """nvinfer's segmentation parser on C x H x W scores: best class above max(-1, threshold), else -1."""
    best = scores.argmax(0)
    top = scores.max(0)
    return np.where((top > threshold) & (top > -1), best, -1)


@pytest.fixture(scope="module")
def exported(trained_ckpt, tmp_path_factory):
    from edgeseg.export.pipeline import run_export

    out = tmp_path_factory.mktemp("ds")
    return run_export(trained_ckpt, out, ExportOptions(input_size=SIZE, num_samples=1)).final


@pytest.fixture(scope="module")
def val_images(camvid_root):
    from edgeseg.export.samples import image_paths, read_images

    return read_images(image_paths(str(camvid_root / "camvid_val_list.txt"), 6))


@pytest.mark.slow
def test_config_written_beside_the_onnx_is_the_ini_nvinfer_reads(exported):
    path = write_nvinfer_config(exported)
    assert path == config_path(exported) and path.name == exported.name + ".nvinfer.txt"
    prop = parse(path.read_text())
    assert prop["onnx-file"] == exported.name and (path.parent / prop["onnx-file"]).exists()
    assert "model-engine-file" not in prop
    assert (prop["network-type"], prop["network-mode"], prop["infer-dims"], prop["batch-size"]) == ("2", "0", "3;180;240", "1")
    assert (prop["num-detected-classes"], prop["output-blob-names"]) == ("11", "logits")
    # the official CamVid contract: RGB order, offsets = the BGR mean reversed, no scaling
    assert (prop["model-color-format"], prop["net-scale-factor"]) == ("0", "1.0")
    assert prop["offsets"] == "99.6254;103.32983;105.65775"
    assert all("#" not in v for v in prop.values())  # GKeyFile has no inline comments


def test_nvinfer_formula_gives_the_contracts_tensor(exported, val_images):
    """The acceptance check: max |delta| < 1e-4 on real images, and the ONNX sees the same logits."""
    from edgeseg.export.pipeline import run_onnx

    meta = metadata_dict(exported)
    prop = parse(nvinfer_config(meta, exported))
    pre = Preprocess.from_dict(meta["preprocess"])
    worst = 0.0
    for img in val_images:
        assert img.shape[:2] == SIZE
        worst = max(worst, float(np.abs(nvinfer_input(img, prop) - pre.apply(img)).max()))
    assert worst < 1e-4
    ours = run_onnx(exported, [pre.apply(val_images[0])[None]])[0]
    theirs = run_onnx(exported, [nvinfer_input(val_images[0], prop)[None]])[0]
    assert np.abs(ours - theirs).max() < 1e-4
    # the trap this guards against: BGR order or an unreversed mean is off by tens of grey levels
    wrong = dict(prop, **{"model-color-format": "1"})
    assert np.abs(nvinfer_input(val_images[0], wrong) - pre.apply(val_images[0])).max() > 10


def test_nvinfer_segmentation_parser_keeps_the_argmax_on_trained_logits(exported):
    """nvinfer only labels a pixel whose best score is above the threshold; our model gives raw logits."""
    from tests.paths import SHARED

    threshold = float(parse(nvinfer_config(metadata_dict(exported), exported))["segmentation-threshold"])
    logits = np.load(SHARED / "fixtures" / "s2fpn18_camvid_half.val_logits.npz")
    for name in logits.files:
        scores = logits[name]
        assert (nvinfer_segmentation(scores, threshold) == scores.argmax(0)).all(), name
    shifted = logits[logits.files[0]] - 50.0  # what would go wrong: every best logit below zero
    assert (nvinfer_segmentation(shifted, threshold) == -1).all()


def _meta(exported):
    return copy.deepcopy(metadata_dict(exported))


def test_engine_config_points_at_the_plan_and_its_onnx(exported, tmp_path):
    from edgeseg.artifacts import parent_entry

    meta = _meta(exported)
    engine = tmp_path / "m.engine"
    meta.update(kind="engine", precision="fp16", provenance={"parent": parent_entry(exported, engine)})
    prop = parse(nvinfer_config(meta, engine, out_dir=tmp_path))
    assert prop["model-engine-file"] == "m.engine" and (tmp_path / prop["onnx-file"]).resolve() == exported.resolve()
    assert prop["network-mode"] == "2"
    meta["precision"] = "fp8"
    text = nvinfer_config(meta, engine, out_dir=tmp_path)
    assert parse(text)["network-mode"] == "2" and "no FP8 network-mode" in text


def test_int8_points_nvinfer_at_the_calibration_cache(exported, tmp_path):
    """Without int8-calib-file nvinfer drops to FP16 flags ('Trying FP16 mode') when it builds from the ONNX."""
    onnx = tmp_path / "m.int8.onnx"
    onnx.write_bytes(exported.read_bytes())
    meta = _meta(exported)
    meta["precision"] = "int8"
    prop = parse(nvinfer_config(meta, onnx))
    assert prop["network-mode"] == "1" and "int8-calib-file" not in prop  # no cache beside it: nothing invented
    (tmp_path / "m.int8.onnx.calib.cache").write_text("TRT-100300-EntropyCalibration2\n")
    assert parse(nvinfer_config(meta, onnx))["int8-calib-file"] == "m.int8.onnx.calib.cache"
    from edgeseg.artifacts import parent_entry

    meta.update(kind="engine", provenance={"parent": parent_entry(onnx, tmp_path / "m.engine")})
    sub = tmp_path / "configs"
    sub.mkdir()
    prop = parse(nvinfer_config(meta, tmp_path / "m.engine", out_dir=sub))
    assert (prop["int8-calib-file"], prop["model-engine-file"]) == ("../m.int8.onnx.calib.cache", "../m.engine")


def test_std_and_bgr_contracts(exported, val_images):
    meta = _meta(exported)
    meta["preprocess"].update(std_bgr=[58.0, 58.0, 58.0], channel_order="BGR")
    prop = parse(nvinfer_config(meta, exported))
    assert prop["model-color-format"] == "1" and prop["offsets"] == "105.65775;103.32983;99.6254"
    assert float(prop["net-scale-factor"]) == pytest.approx(1 / 58.0)
    pre = Preprocess.from_dict(meta["preprocess"])
    assert np.abs(nvinfer_input(val_images[1], prop) - pre.apply(val_images[1])).max() < 1e-4
    meta["preprocess"]["std_bgr"] = [57.375, 57.12, 58.395]
    with pytest.raises(EdgesegError, match="net-scale-factor is one number"):
        nvinfer_config(meta, exported)


def test_dynamic_models_take_their_size(exported):
    meta = _meta(exported)
    meta["io"]["input"]["shape"] = ["batch", 3, "height", "width"]
    meta["preprocess"]["input_size"] = None
    prop = parse(nvinfer_config(meta, exported, input_size=(360, 480), batch_size=4))
    assert (prop["infer-dims"], prop["batch-size"]) == ("3;360;480", "4")
    default = DatasetInfo.named("camvid").input_size
    assert parse(nvinfer_config(meta, exported))["infer-dims"] == f"3;{default[0]};{default[1]}"  # the dataset's
    with pytest.raises(EdgesegError, match="fixed at 180x240"):
        nvinfer_config(_meta(exported), exported, input_size=(360, 480))


@pytest.mark.parametrize("change,message", [
    ({"embedded_preprocess": True, "io.input.dtype": "uint8"}, "no uint8 input path"),
    ({"io.output.kind": "labels", "io.output.dtype": "uint8"}, "does its own argmax"),
    ({"io.output.dtype": "float16"}, "reads float32"),
    ({"provenance": {"options": {"quant": {"placement": "cpu"}}}}, "CPU Q/DQ placement"),
    ({"provenance": {"options": {"quant": {"target": "cpu"}}}}, "CPU Q/DQ placement"),  # as 0.1.0 named it
    ({"kind": "deploy"}, "no edgeseg metadata"),
])
def test_what_nvinfer_cannot_run_is_refused(exported, change, message):
    meta = _meta(exported)
    for key, value in change.items():
        *parents, leaf = key.split(".")
        target = meta
        for p in parents:
            target = target[p]
        target[leaf] = value
    with pytest.raises(EdgesegError, match=message):
        nvinfer_config(meta, exported)


def test_export_options_refused_before_the_export():
    for options, message in ((ExportOptions(embed_preprocess=True), "--embed-preprocess"),
                             (ExportOptions(argmax="uint8"), "--argmax"),
                             (ExportOptions(precision="fp16", fp16_io=True), "--fp16-io"),
                             (ExportOptions(std_bgr=(1.0, 2.0, 3.0)), "one number"),
                             (ExportOptions(precision="int8", preset="cpu", calib=__file__),
                              "tensorrt preset")):
        with pytest.raises(EdgesegError, match=message):
            check_export_options(options)
    check_export_options(ExportOptions(precision="int8", dynamic=True, calib=__file__))


@pytest.mark.slow
def test_a_library_export_gets_its_deepstream_config_and_prepares_options_once(trained_ckpt, exported, monkeypatch):
    """Issue 29: the config is the export pipeline's product (a `run_export` caller gets it, not only
    the CLI's summary), and the options are resolved and checked once per export."""
    from edgeseg.export import pipeline

    calls, real = [], pipeline.prepared
    monkeypatch.setattr(pipeline, "prepared", lambda o: calls.append(o) or real(o))
    result = pipeline.run_export(trained_ckpt, exported.parent,
                                 ExportOptions(input_size=SIZE, num_samples=1, deepstream=True))
    assert result.deepstream == config_path(result.final) and result.deepstream.is_file()
    assert result.to_dict()["deepstream"] == str(result.deepstream) and len(calls) == 1
