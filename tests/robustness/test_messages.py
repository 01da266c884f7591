"""Messages and small breakages (issue 22 F): what a user types works, and what fails says so in one line."""

from __future__ import annotations

import numpy as np
import pytest

from cliproc import cli, refused


def _png(path, array):
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array)
    return path


def test_calib_manifest_names_with_spaces_round_trip_and_v_after_the_group(tmp_path):
    """`edgeseg calib -v make` (verbosity after the group name, as the README says) writes a manifest whose
    names hold spaces; --calib reads them back whole instead of splitting them."""
    from edgeseg.data.calibset import load_calibset

    for name in ("street view 1.png", "street view 2.png"):
        _png(tmp_path / "data" / "images" / name, np.full((8, 8, 3), 7, np.uint8))
    manifest = tmp_path / "m.txt"
    p = cli("calib", "-v", "make", "--data", tmp_path / "data", "--dataset", "folder", "-n", "2", "-o", manifest)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "images/street view 1.png" in manifest.read_text()
    calib = load_calibset(manifest, tmp_path / "data")
    assert sorted(c.name for c in calib.paths) == ["street view 1.png", "street view 2.png"]
    assert cli("fleet", "-q", "ls", "--help").returncode == 0
