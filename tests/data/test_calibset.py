"""Calibration manifests: deterministic, even across sequences, strict about bad input."""

import cv2
import numpy as np
import pytest

from edgeseg.data.calibset import draw_even, load_calibset, make_manifest, refuse_overlap
from edgeseg.errors import EdgesegError


def test_draw_even_is_deterministic_and_balanced(tmp_path):
    paths = [tmp_path / f"{seq}_{i:03d}.png" for seq in ("0001TP", "0006R0", "0016E5") for i in range(20)]
    a, b = draw_even(paths, "camvid", 9, seed=0), draw_even(paths, "camvid", 9, seed=0)
    assert a == b and len(set(a)) == 9
    assert sorted(p.name.split("_")[0] for p in a) == ["0001TP"] * 3 + ["0006R0"] * 3 + ["0016E5"] * 3
    assert draw_even(paths, "camvid", 9, seed=1) != a


def test_manifest_round_trip_and_warning(tmp_path, camvid_root):
    out = tmp_path / "calib.txt"
    cs = make_manifest(camvid_root, "camvid", "train", 12, 0, out)
    assert out.read_text().startswith("# edgeseg calibration set v1") and len(cs) == 12
    again = load_calibset(out, data_root=camvid_root)
    assert again.sha256 == cs.sha256 and again.paths == cs.paths
    assert "fewer than 300" in again.warning()
    with pytest.raises(EdgesegError, match="pass --calib-data ROOT"):
        load_calibset(out)  # relative to the manifest's own folder: not found


def test_official_list_and_folder(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "img" / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "list.txt").write_text("img/0.png lab/0.png\nimg/1.png lab/1.png\n")
    assert len(load_calibset(tmp_path / "list.txt")) == 2
    assert len(load_calibset(tmp_path / "img")) == 3


@pytest.mark.parametrize("case,message", [
    ("empty", "holds no images"),
    ("missing", "do not exist"),
    ("nothing", "no such file or folder"),
])
def test_bad_calibration_input(tmp_path, case, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "list.txt").write_text("gone/a.png\n")
    source = {"empty": tmp_path / "empty", "missing": tmp_path / "list.txt", "nothing": tmp_path / "nope"}[case]
    with pytest.raises(EdgesegError, match=message):
        load_calibset(source)


def test_changed_images_are_detected(tmp_path):
    from edgeseg.data.calibset import MAGIC, content_hash

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "m.txt").write_text(f"{MAGIC}\n# sha256: {content_hash([tmp_path / 'a.png'])}\na.png\n")
    assert len(load_calibset(tmp_path / "m.txt")) == 1
    cv2.imwrite(str(tmp_path / "a.png"), np.ones((4, 4, 3), np.uint8))
    with pytest.raises(EdgesegError, match="images changed since the manifest was made"):
        load_calibset(tmp_path / "m.txt")


def test_overlap_with_evaluation_is_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4, 3), np.uint8))
    cs = load_calibset(tmp_path)
    with pytest.raises(EdgesegError, match="also in the evaluation split"):
        refuse_overlap(cs, [tmp_path / "a.png"])
