"""Colour masks, overlays, disagreement maps and the PNG writer."""

import cv2
import numpy as np
import pytest

from edgeseg.bench.visualize import DISAGREE_BGR, colorize, disagreement, overlay, write_png
from edgeseg.data.contract import DatasetInfo
from edgeseg.errors import EdgesegError

PALETTE = DatasetInfo.named("cityscapes").palette


def test_colorize_is_the_palette_in_bgr():
    labels = np.arange(19).reshape(1, 19)
    out = colorize(labels, PALETTE)
    assert out.shape == (1, 19, 3) and out.dtype == np.uint8
    for i, rgb in enumerate(PALETTE):
        assert tuple(out[0, i]) == tuple(rgb[::-1])


def test_colorize_paints_ids_beyond_the_palette_black():
    out = colorize(np.array([[255, 19, -1, 1000]]), PALETTE)
    assert not out.any()


def test_overlay_blends_by_alpha():
    image = np.full((2, 3, 3), 200, np.uint8)
    mask = np.zeros((2, 3, 3), np.uint8)
    mask[..., 2] = 100
    np.testing.assert_array_equal(overlay(image, mask, 0.0), image)
    np.testing.assert_array_equal(overlay(image, mask, 1.0), mask)
    assert tuple(overlay(image, mask, 0.5)[0, 0]) == (100, 100, 150)
    with pytest.raises(EdgesegError, match="opacity"):
        overlay(image, mask, 1.5)


def test_disagreement_highlights_exactly_the_differing_pixels():
    image = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    a = np.zeros((6, 8), np.int64)
    same, agree = disagreement(image, a, a.copy())
    assert agree == 1.0 and not (same == DISAGREE_BGR).all(axis=2).any()
    assert (same[..., 0] == same[..., 1]).all() and same.max() <= 0.4 * 255  # dimmed grey
    b = a.copy()
    b[1, 2] = b[4, 7] = 3
    diff, agree = disagreement(image, a, b)
    assert agree == pytest.approx(1 - 2 / 48)
    np.testing.assert_array_equal(np.argwhere((diff == DISAGREE_BGR).all(axis=2)), [[1, 2], [4, 7]])
    with pytest.raises(EdgesegError, match="do not match"):
        disagreement(image, a, b[:3])


def test_write_png_round_trips_and_leaves_no_temporary_files(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    write_png(tmp_path / "sub" / "x.png", image)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "sub" / "x.png")), image)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["x.png"]
