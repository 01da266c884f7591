"""Crashes, hangs and tracebacks (issue 22 part C) through the real CLI: each case ends in one
`error:` line (or works), within seconds."""

from __future__ import annotations

import os
import shutil

import pytest

from cliproc import DEMO, cli, refused
from tiny import tiny_onnx

EVAL = ("--split", "camvid_val_list.txt", "--limit", "1")
ODD = os.fsdecode(b"\xff\xfe")  # bytes that are not UTF-8, as Python keeps them in a str


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_onnx(tmp_path_factory.mktemp("tiny") / "t.onnx")


# -- C1: file names that are not UTF-8 ----------------------------------------------------------
def test_predict_and_eval_read_images_whose_names_are_not_utf8(tiny, tmp_path):
    demo = tmp_path / f"demo{ODD}"
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns("*.pth"))
    image = tmp_path / f"img{ODD}.png"
    shutil.copy(next((DEMO / "val").iterdir()), image)
    p = cli("predict", tiny, image, "-o", tmp_path / "out")
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])  # was SIGSEGV (-11 / 139) in cv2.imread
    assert len(list((tmp_path / "out").iterdir())) >= 1
    p = cli("eval", tiny, "--data", demo, *EVAL)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])


# -- C2, C5: crafted checkpoints -----------------------------------------------------------------
def test_inspect_of_a_huge_stride_0_view_finishes_at_once(tmp_path):
    torch = pytest.importorskip("torch")
    crafted = tmp_path / "crafted.pth"  # one (10^13,) tensor of stride 0 over a 1-element storage
    torch.save({"model": {"seghead.fc.conv.weight": torch.tensor([float("nan")]).expand(10 ** 13)}}, crafted)
    assert crafted.stat().st_size < 2000
    refused(cli("inspect", crafted, timeout=60), "crafted.pth", "has shape (10000000000000,)")


def test_nan_scan_sees_exactly_the_elements_a_view_refers_to():
    import numpy as np

    from edgeseg.models.pth import StoredTensor, _any_touched

    flags = np.zeros(100, bool)
    flags[7] = True
    def view(shape, stride, offset=0):
        return _any_touched(flags, StoredTensor("float32", shape, stride, offset, "r"))
    assert view((10 ** 13,), (0,), 7) and not view((10 ** 13,), (0,), 6)  # stride 0: one element
    assert view((3, 4), (4, 1)) and not view((3, 3), (4, 1))  # 7 = row 1, col 3: outside a 3x3 window
    assert view((30, 40), (1, 1), 0) and not view((30, 40), (1, 1), 8)  # overlapping: 1200 entries, elements 0..68 / 8..76
    assert view((50, 50), (2, 2), 1) and not view((50, 50), (2, 2), 0)  # odd offsets only / even only
    assert not view((2, 2), (5, 1), 0) and view((2, 3), (5, 1), 5)  # {0,1,5,6} misses 7; {5,6,7,10,11,12}


def test_inspect_of_a_0d_classifier_weight(tmp_path):
    torch = pytest.importorskip("torch")
    bad = tmp_path / "scalar.pth"
    torch.save({"model": {"seghead.fc.conv.weight": torch.tensor(1.0)}}, bad)
    refused(cli("inspect", bad), "seghead.fc.conv.weight has shape ()")
