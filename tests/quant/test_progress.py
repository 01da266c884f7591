"""Calibration reports its progress through the caller's factory: one advance per image."""

import contextlib

import cv2
import numpy as np

from edgeseg.data.calibset import load_calibset
from edgeseg.data.contract import Preprocess
from edgeseg.quant.ptq import quantize
from edgeseg.quant.config import QuantConfig


def test_calibration_drives_the_progress_factory(tmp_path, small_onnx):
    rng = np.random.default_rng(0)
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"{i}.png"), rng.integers(0, 256, (32, 48, 3), dtype=np.uint8))
    calib = load_calibset(tmp_path)
    seen = []

    @contextlib.contextmanager
    def progress(total, what):
        seen.append((what, total, []))
        yield lambda: seen[-1][2].append(1)

    pre = Preprocess(mean_bgr=(100.0, 100.0, 100.0), input_size=(32, 48))
    _, amax, report = quantize(small_onnx, "0" * 64, QuantConfig(), calib, pre, cache_dir=tmp_path / "cache",
                               progress=progress)
    assert seen == [("calibrating (percentile)", 5, [1] * 5)] and amax and not report.ranges_reused
    seen.clear()
    _, _, report = quantize(small_onnx, "0" * 64, QuantConfig(), calib, pre, cache_dir=tmp_path / "cache",
                            progress=progress)
    assert report.ranges_reused and seen == []  # cached ranges: nothing to calibrate, no bar
