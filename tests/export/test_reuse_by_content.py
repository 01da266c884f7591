"""Reuse follows content, not names: the same checkpoint under another name, a list file naming the
same calibration images, or a rebuilt parent whose file differs only in its metadata, reuse the
stages and calibrated ranges already built."""

import shutil

import cv2
import numpy as np
import pytest

from edgeseg.cli.main import main
from golden import CASES, save_checkpoint

pytestmark = pytest.mark.slow  # real INT8 exports

CASE = "spfnet18"  # random weights that stay in float32 range on smooth images (see test_spfnet_int8)
DATASET = "camvid" if CASES[CASE]["classes"] == 11 else "cityscapes"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("reuse")
    save_checkpoint(CASE, root / "c.pth")
    (root / "calib").mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        img = cv2.resize(rng.integers(60, 140, (6, 8, 3), dtype=np.uint8), (128, 96), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(root / "calib" / f"{i}.png"), img)
    return root


def export(capsys, ckpt, out, calib):
    code = main(["export", str(ckpt), "-o", str(out), "--input-size", "96x128", "--precision", "int8", "--calib",
                 str(calib), "--num-samples", "2", "--min-agreement", "0.8", "--dataset", DATASET,
                 "--allow-mismatch"])  # random weights: how each runtime agrees is tests/export/test_runtimes.py's
    _, err = capsys.readouterr()
    assert code == 0, err
    return err


def test_renamed_checkpoint_and_same_images_reuse(root, capsys):
    out = root / "out"
    assert "calibrating" in export(capsys, root / "c.pth", out, root / "calib")
    shutil.copy(root / "c.pth", root / "renamed.pth")
    listed = root / "lists" / "same-images.txt"  # another file, elsewhere, naming the same images
    listed.parent.mkdir()
    listed.write_text("".join(f"{p}\n" for p in sorted((root / "calib").glob("*.png"))))
    err = export(capsys, root / "renamed.pth", out, listed)
    assert "int8: up to date" in err and "building" not in err, err

    # the parents rebuilt (their files now differ in times and paths): the INT8 stage still stands,
    # and a fresh INT8 build takes its ranges from the cache, keyed by the graph
    for f in out.glob("*.fp32.onnx*"):
        f.unlink()
    err = export(capsys, root / "c.pth", out, root / "calib")
    assert "simplified: building" in err and "int8: up to date" in err, err
    for f in out.glob("*.int8.onnx*"):
        f.unlink()
    err = export(capsys, root / "renamed.pth", out, listed)
    assert "int8: building" in err and "reusing calibrated ranges" in err and "calibrating" not in err, err
