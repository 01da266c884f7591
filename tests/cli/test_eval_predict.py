"""`edgeseg eval` and `edgeseg predict` end to end on a tiny ONNX model with metadata."""

import json

import cv2
import numpy as np
import pytest

from edgeseg.bench.visualize import colorize
from edgeseg.cli.main import main
from edgeseg.data.contract import DatasetInfo
from tiny import tiny_camvid, tiny_onnx


@pytest.fixture
def camvid_tree(tmp_path):
    return tiny_camvid(tmp_path / "cv")


def test_eval_two_artifacts_json(tmp_path, capsys, camvid_tree):
    a, b = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "b.onnx", seed=1)
    code = main(["eval", str(a), str(a), str(b), "--val", str(camvid_tree), "--json", str(tmp_path / "r.json"),
                 "--md", str(tmp_path / "r.md")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "r.json").read_text())
    ref, same, other = report["artifacts"]
    assert report["images"] == 3 and ref["miou_drop"] is None
    assert same["miou_drop"] == 0 and same["agreement"] == 100
    assert other["agreement"] < 100
    assert set(ref["per_class_iou"]) == set(DatasetInfo.named("camvid").classes)
    assert "| a.onnx |" in (tmp_path / "r.md").read_text()


def test_eval_refuses_artifacts_at_different_sizes(tmp_path, capsys, camvid_tree):
    """The same weights at the images' 12x16 and at a fixed 24x32 differ by the size alone: refused
    before evaluating, unless --mixed-sizes, which warns and adds a size column."""
    a, fixed = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "a24.onnx", input_size=(24, 32))
    code = main(["eval", str(a), str(fixed), "--val", str(camvid_tree), "--json", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 1 and "different input sizes" in err and "a24.onnx: 24x32" in err and err.count("\n") == 1
    assert out == "" and not (tmp_path / "r.json").exists()
    code = main(["eval", str(a), str(fixed), "--val", str(camvid_tree), "--mixed-sizes", "--md", str(tmp_path / "r.md")])
    out, err = capsys.readouterr()
    assert code == 0 and "warning: comparing artifacts at different input sizes" in err
    row = next(r for r in (tmp_path / "r.md").read_text().splitlines() if r.startswith("| a24.onnx |"))
    assert "| fp32 | 24x32 |" in row  # on the profile's default backend
    same = tiny_onnx(tmp_path / "a12.onnx", input_size=(12, 16))  # fixed at the images' own size: no difference
    code = main(["eval", str(a), str(same), "--val", str(camvid_tree), "--md", str(tmp_path / "s.md")])
    assert code == 0 and "size" not in (tmp_path / "s.md").read_text().splitlines()[2]


def test_eval_missing_data_one_line(tmp_path, capsys):
    code = main(["eval", str(tiny_onnx(tmp_path / "a.onnx")), "--val", str(tmp_path / "nope")])
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


def test_eval_screen_tables_batch_and_list_split(tmp_path, capsys, camvid_tree):
    (camvid_tree / "two.txt").write_text("val/im0.png valannot/im0.png\nval/im2.png valannot/im2.png\n")
    a = tiny_onnx(tmp_path / "a.onnx")
    code = main(["eval", str(a), "--val", f"{camvid_tree}:two.txt", "--batch", "2",
                 "--resize", "labels", "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["images"], report["batch"], report["resize"], report["split"]) == (2, 2, "labels", "two.txt")
    assert "per-class IoU" in out and "Bicyclist" in out and "a.onnx" in out


def test_eval_folder_dataset_takes_classes_from_the_artifact(tmp_path, capsys, camvid_tree):
    root = tmp_path / "folder"
    root.mkdir()
    (camvid_tree / "val").rename(root / "images")
    (camvid_tree / "valannot").rename(root / "labels")
    code = main(["eval", str(tiny_onnx(tmp_path / "a.onnx")), "--val", str(root), "--dataset", "folder",
                 "--json", str(tmp_path / "r.json")])
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["images"] == 3


@pytest.mark.parametrize("split,args,message", [
    ("", ["--dataset", "cityscapes"], "predicts 11 classes; the cityscapes dataset has 19"),
    ("", ["--batch", "0"], "--batch must be at least 1"),
    (":test", [], "test does not exist"),
    ("", ["--provider", "gpu"], "unknown ONNX Runtime provider"),
])
def test_eval_errors_are_one_line(tmp_path, capsys, camvid_tree, split, args, message):
    code = main(["eval", str(tiny_onnx(tmp_path / "a.onnx")), "--val", f"{camvid_tree}{split}", *args])
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("\n") == 1, err


def test_eval_real_camvid_sample(tmp_path, capsys, camvid_root):
    code = main(["eval", str(tiny_onnx(tmp_path / "a.onnx")), "--val", str(camvid_root / "camvid_val_list.txt"), "--limit", "4", "--json", str(tmp_path / "r.json")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["images"] == 4 and 0 <= report["artifacts"][0]["miou"] <= 100


def test_predict_with_a_named_dataset_palette_and_single_files(tmp_path, capsys, camvid_tree):
    a = tiny_onnx(tmp_path / "a.onnx")
    code = main(["predict", str(a), str(camvid_tree / "val" / "im1.png"), "-o", str(tmp_path / "o"), "--dataset", "camvid"])
    assert code == 0 and "wrote 2 images" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["im1_mask.png", "im1_overlay.png"]
    code = main(["predict", str(a), str(camvid_tree / "val"), "-o", str(tmp_path / "o"), "--dataset", "cityscapes"])
    err = capsys.readouterr().err
    assert code == 1 and "predicts 11 classes; cityscapes has 19" in err


def test_predict_disagreement_between_different_models(tmp_path, capsys, camvid_tree):
    a, b = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "b.onnx", seed=1)
    assert main(["predict", str(a), str(camvid_tree / "val"), "-o", str(tmp_path / "o"), "--compare", str(b)]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "agreement with b.onnx" in ln]
    assert len(lines) == 3
    diff = cv2.imread(str(tmp_path / "o" / "im0_diff.png"))
    assert (diff == (255, 0, 255)).all(axis=2).any()


def test_the_old_data_and_split_spelling_still_scores_for_one_release(tmp_path, capsys, camvid_tree):
    """eval, bench and fleet bench took --data ROOT --split S until --val ROOT[:SPLIT] (one spelling
    with export and tune): the old one still works, with a note on stderr."""
    a = str(tiny_onnx(tmp_path / "a.onnx"))
    assert main(["eval", a, "--data", str(camvid_tree), "--split", "val", "--json", str(tmp_path / "old.json")]) == 0
    err = capsys.readouterr().err
    assert "note: --data is now --val" in err and "note: --split S is now --val ROOT:S" in err
    assert main(["eval", a, "--val", f"{camvid_tree}:val", "--json", str(tmp_path / "new.json")]) == 0
    old, new = (json.loads((tmp_path / n).read_text()) for n in ("old.json", "new.json"))
    assert old["artifacts"][0]["miou"] == new["artifacts"][0]["miou"] and old["images"] == new["images"]
    assert main(["eval", a, "--val", str(camvid_tree), "--data", str(camvid_tree)]) == 1
    assert "give only --val" in capsys.readouterr().err
