"""`edgeseg eval` and `edgeseg predict` end to end on a tiny ONNX model with metadata."""

import json

import cv2
import numpy as np
import pytest

from edgeseg.bench.visualize import colorize
from edgeseg.cli.main import main
from edgeseg.data.contract import DatasetInfo
from tiny import tiny_onnx


@pytest.fixture
def camvid_tree(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        for sub, arr in (("val", rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)),
                         ("valannot", rng.integers(0, 12, (12, 16), dtype=np.uint8))):
            (tmp_path / "cv" / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / "cv" / sub / f"im{i}.png"), arr)
    return tmp_path / "cv"


def test_eval_two_artifacts_json(tmp_path, capsys, camvid_tree):
    a, b = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "b.onnx", seed=1)
    code = main(["eval", str(a), str(a), str(b), "--data", str(camvid_tree), "--json", str(tmp_path / "r.json"),
                 "--md", str(tmp_path / "r.md")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "r.json").read_text())
    ref, same, other = report["artifacts"]
    assert report["images"] == 3 and ref["miou_drop"] is None
    assert same["miou_drop"] == 0 and same["agreement"] == 100
    assert other["agreement"] < 100
    assert set(ref["per_class_iou"]) == set(DatasetInfo.named("camvid").classes)
    assert "| a.onnx |" in (tmp_path / "r.md").read_text()


def test_eval_missing_data_one_line(tmp_path, capsys):
    code = main(["eval", str(tiny_onnx(tmp_path / "a.onnx")), "--data", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 1 and "does not exist" in err and err.count("\n") == 1


def test_predict_masks_overlays_and_empty_disagreement(tmp_path, capsys, camvid_tree):
    a = tiny_onnx(tmp_path / "a.onnx")
    code = main(["predict", str(a), str(camvid_tree / "val"), "-o", str(tmp_path / "out"), "--compare", str(a)])
    assert code == 0
    assert "agreement with a.onnx 100.0000%" in capsys.readouterr().out
    mask = cv2.imread(str(tmp_path / "out" / "im0_mask.png"))
    diff = cv2.imread(str(tmp_path / "out" / "im0_diff.png"))
    assert mask.shape == (12, 16, 3) and diff.shape == (12, 16, 3)
    palette_bgr = {tuple(c[::-1]) for c in DatasetInfo.named("camvid").palette}
    assert {tuple(p) for p in mask.reshape(-1, 3)} <= palette_bgr
    assert not (diff == (255, 0, 255)).all(axis=2).any()  # identical models: nothing highlighted
    assert (tmp_path / "out" / "im2_overlay.png").exists()


def test_colorize_uses_palette():
    palette = DatasetInfo.named("camvid").palette
    out = colorize(np.array([[0, 3]]), palette)
    assert tuple(out[0, 0]) == tuple(palette[0][::-1]) and tuple(out[0, 1]) == tuple(palette[3][::-1])
