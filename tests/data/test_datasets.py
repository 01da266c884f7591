"""Dataset layouts and their errors, on small trees made here and on real CamVid."""

import cv2
import numpy as np
import pytest

from edgeseg.data.contract import DatasetInfo
from edgeseg.data.datasets import cityscapes_lut, open_dataset
from edgeseg.errors import EdgesegError


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array)


def cityscapes_tree(root, kind):
    img = np.full((4, 6, 3), 100, np.uint8)
    ids = np.array([[7, 8, 11, 0, 26, 33]] * 4, np.uint8)  # road, sidewalk, building, unlabeled, car, bicycle
    for city in ("aachen", "bochum"):
        stem = f"{city}_000000_000019"
        write(root / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png", img)
        label = ids if kind == "labelIds" else cityscapes_lut()[ids]
        write(root / "gtFine" / "val" / city / f"{stem}_gtFine_{kind}.png", label)


@pytest.mark.parametrize("kind", ["labelIds", "labelTrainIds"])
def test_cityscapes_both_label_kinds_map_to_train_ids(tmp_path, kind):
    cityscapes_tree(tmp_path, kind)
    ds = open_dataset(tmp_path, "cityscapes", "val")
    assert len(ds) == 2 and ds.info.num_classes == 19
    _, label = ds.load(ds[0])
    np.testing.assert_array_equal(label[0], [0, 1, 2, 255, 13, 18])


def test_camvid_folder_and_list_agree(camvid_root):
    by_folder = open_dataset(camvid_root, "camvid", "val")
    by_list = open_dataset(camvid_root, "camvid", "camvid_val_list.txt")
    assert len(by_folder) == len(by_list) == 101
    assert [s.name for s in by_folder.samples] == [s.name for s in by_list.samples]
    assert len(open_dataset(camvid_root, "camvid", "val", limit=5)) == 5


def test_folder_dataset(tmp_path):
    write(tmp_path / "images" / "a.png", np.zeros((4, 4, 3), np.uint8))
    write(tmp_path / "labels" / "a.png", np.ones((4, 4), np.uint8))
    ds = open_dataset(tmp_path, "folder", info=DatasetInfo.named("camvid"))
    assert ds.load(ds[0])[1].max() == 1


@pytest.mark.parametrize("case,message", [
    ("missing_root", "does not exist"),
    ("empty", "holds no images"),
    ("no_label", "has no label"),
    ("bad_value", "outside the 11 classes"),
    ("unreadable", "cannot read image"),
])
def test_errors(tmp_path, case, message):
    root = tmp_path / "camvid"
    (root / "val").mkdir(parents=True)
    (root / "valannot").mkdir()
    if case != "empty":
        write(root / "val" / "x.png", np.zeros((4, 4, 3), np.uint8))
        if case != "no_label":
            write(root / "valannot" / "x.png", np.full((4, 4), 42 if case == "bad_value" else 1, np.uint8))
    if case == "unreadable":
        (root / "val" / "x.png").write_bytes(b"not a png")
    with pytest.raises(EdgesegError, match=message):
        ds = open_dataset(tmp_path / "nope" if case == "missing_root" else root, "camvid", "val")
        ds.load(ds[0])
