"""NNCF post-training INT8 for OpenVINO models: the library made for it, called rather than rivalled.

`quantize` is `nncf.quantize` with the performance preset on our calibration images;
`quantize_with_accuracy` is `nncf.quantize_with_accuracy_control`, keeping layers in float until
the caller's metric (our mIoU, in points) drops no more than `max_drop`.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from edgeseg.errors import require


@contextlib.contextmanager
def _off_stdout():
    """NNCF draws its progress bars on stdout and logs there through its own handler; stdout holds
    a command's results (a path scripts read), so both go to stderr while NNCF runs."""
    handlers = [h for h in logging.getLogger("nncf").handlers
                if isinstance(h, logging.StreamHandler) and h.stream is sys.stdout]
    for h in handlers:
        h.setStream(sys.stderr)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for h in handlers:
            h.setStream(sys.stdout)


def _dataset(batches):
    nncf = require("nncf", "openvino")
    return nncf.Dataset(list(batches))


def quantize(model, calib_batches, subset_size: int | None = None):
    """INT8 ov.Model from an FP32 ov.Model, performance preset (symmetric activations)."""
    nncf = require("nncf", "openvino")
    batches = list(calib_batches)
    with _off_stdout():
        return nncf.quantize(model, _dataset(batches), preset=nncf.QuantizationPreset.PERFORMANCE,
                             subset_size=subset_size or len(batches))


def quantize_with_accuracy(model, calib_batches, val_items, metric, max_drop: float,
                           subset_size: int | None = None):
    """INT8 ov.Model whose `metric(compiled_model, items)` is at most `max_drop` below the FP32 model's."""
    nncf = require("nncf", "openvino")
    batches = list(calib_batches)
    with _off_stdout():
        return nncf.quantize_with_accuracy_control(
            model, _dataset(batches), nncf.Dataset(list(val_items)), validation_fn=metric, max_drop=max_drop,
            drop_type=nncf.DropType.ABSOLUTE, preset=nncf.QuantizationPreset.PERFORMANCE,
            subset_size=subset_size or len(batches))
