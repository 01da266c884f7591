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


def test_camvid_list_file_by_absolute_path(camvid_root):
    ds = open_dataset(camvid_root, "camvid", str(camvid_root / "camvid_val_list.txt"), limit=3)
    assert [s.name for s in ds] == ["0016E5_07959.png", "0016E5_07961.png", "0016E5_07963.png"]
    image, label = ds.load(ds[0])
    assert image.shape == (180, 240, 3) and label.shape == (180, 240) and label.max() <= 11


def test_cityscapes_list_file_with_label_ids_is_mapped(tmp_path):
    cityscapes_tree(tmp_path, "labelIds")
    lines = [f"leftImg8bit/val/{c}/{c}_000000_000019_leftImg8bit.png gtFine/val/{c}/{c}_000000_000019_gtFine_labelIds.png"
             for c in ("aachen", "bochum")]
    (tmp_path / "val.txt").write_text("\n".join(lines) + "\n")
    ds = open_dataset(tmp_path, "cityscapes", "val.txt")
    np.testing.assert_array_equal(ds.load(ds[1])[1][0], [0, 1, 2, 255, 13, 18])


def test_list_file_errors(tmp_path):
    write(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "l.txt").write_text("a.png missing.png\n")
    with pytest.raises(EdgesegError, match="l.txt:1: image a.png has no label"):
        open_dataset(tmp_path, "camvid", "l.txt")
    (tmp_path / "l.txt").write_text("a.png b.png c.png\n")
    with pytest.raises(EdgesegError, match="expected 'image label'"):
        open_dataset(tmp_path, "camvid", "l.txt")
    with pytest.raises(EdgesegError, match="list file nope.txt not found"):
        open_dataset(tmp_path, "camvid", "nope.txt")


def test_list_file_without_labels_and_limit(tmp_path):
    for n in "abc":
        write(tmp_path / f"{n}.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "l.txt").write_text("# images only\na.png\nb.png\n\nc.png\n")
    ds = open_dataset(tmp_path, "camvid", "l.txt", limit=2)
    assert len(ds) == 2 and ds[0].label is None and ds.load(ds[0])[1] is None
    with pytest.raises(EdgesegError, match="--limit must be at least 1"):
        open_dataset(tmp_path, "camvid", "l.txt", limit=0)


def test_folder_without_labels_and_missing_label(tmp_path):
    info = DatasetInfo.named("camvid")
    write(tmp_path / "images" / "a.jpg", np.zeros((4, 4, 3), np.uint8))
    assert open_dataset(tmp_path, "folder", info=info)[0].label is None
    write(tmp_path / "labels" / "b.png", np.ones((4, 4), np.uint8))
    with pytest.raises(EdgesegError, match="a.jpg has no label"):
        open_dataset(tmp_path, "folder", info=info)
    with pytest.raises(EdgesegError, match="needs its classes"):
        open_dataset(tmp_path, "folder")


def test_label_checks(tmp_path):
    root = tmp_path / "camvid"
    write(root / "val" / "x.png", np.zeros((4, 4, 3), np.uint8))
    write(root / "valannot" / "x.png", np.full((4, 6), 11, np.uint8))  # void only, but the wrong size
    ds = open_dataset(root, "camvid", "val")
    with pytest.raises(EdgesegError, match="is 6x4, its image 4x4"):
        ds.load(ds[0])
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[0, 0] = (1, 2, 3)
    write(root / "valannot" / "x.png", colour)
    with pytest.raises(EdgesegError, match="is a colour image"):
        ds.load(ds[0])
    write(root / "valannot" / "x.png", np.dstack([np.full((4, 4), 2, np.uint8)] * 3))  # grey saved as 3 channels
    assert (ds.load(ds[0])[1] == 2).all()


def test_unknown_kind_and_missing_split(tmp_path):
    with pytest.raises(EdgesegError, match="unknown dataset 'voc'"):
        open_dataset(tmp_path, "voc")
    with pytest.raises(EdgesegError, match="CamVid split folder .*test does not exist"):
        open_dataset(tmp_path, "camvid", "test")
    with pytest.raises(EdgesegError, match="no Cityscapes images"):
        open_dataset(tmp_path, "cityscapes", "val")
