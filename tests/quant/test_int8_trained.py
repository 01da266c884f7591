"""INT8 export of the trained CamVid checkpoint: accuracy within budget, cached ranges reused,
calibration files written beside the model, bad calibration input refused with nothing written."""

import json

import pytest

from edgeseg.cli.main import main
from edgeseg.data.calibset import make_manifest


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, camvid_root):
    path = tmp_path_factory.mktemp("calib") / "train-40.txt"
    make_manifest(camvid_root, "camvid", "train", 40, 0, path)
    return path


def export(capsys, ckpt, out, *extra):
    code = main(["export", str(ckpt), "-o", str(out), "--input-size", "180x240", "--precision", "int8", *extra])
    o, e = capsys.readouterr()
    return code, o, e


def test_int8_within_budget_and_reuse(tmp_path, capsys, trained_ckpt, camvid_root, manifest):
    args = ["--calib", str(manifest), "--data", str(camvid_root), "--val", f"{camvid_root}:val", "--val-limit", "30"]
    code, out, err = export(capsys, trained_ckpt, tmp_path, *args)
    assert code == 0, err
    final = out.strip().splitlines()[-1]
    report = json.loads(open(final + ".quant.json").read())
    assert report["calib_images"] == 40 and report["method"] == "percentile" and not report["ranges_reused"]
    assert report["drop_after"] <= 0.3 and report["quantized_layers"] > 100
    assert "fewer than 300" in report["warning"]
    assert open(final + ".calib.cache").readline().startswith("TRT-")
    code, _, err = export(capsys, trained_ckpt, tmp_path, *args, "--target", "cpu")
    assert code == 0 and "reusing calibrated ranges" in err


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
