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


def test_export_summary_keeps_square_brackets():
    """Rich markup ate `[tensorrt]` in the install hint (`pip install 'edgeseg'`): text prints as it is."""
    import io
    from pathlib import Path
    from types import SimpleNamespace

    from rich.console import Console

    from edgeseg.export.report import print_summary

    hint = "skipped: TensorRT is not installed; install it with: pip install 'edgeseg[tensorrt]'"
    stage = SimpleNamespace(name="fp16", path=Path("m [v2].onnx"), nodes=3, size_bytes=10, reused=False, check=None,
                            extra={"checks": {"tensorrt parse": hint}, "budget": "see [red]x[/red]"})
    out = io.StringIO()
    print_summary(SimpleNamespace(stages=[stage]), Console(file=out, width=200))
    text = out.getvalue()
    assert "pip install 'edgeseg[tensorrt]'" in text and "m [v2].onnx" in text and "[red]x[/red]" in text
