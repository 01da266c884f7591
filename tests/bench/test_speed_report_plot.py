"""Timing statistics, result tables, and the Pareto plot."""

import cv2
import numpy as np
import pytest

from edgeseg.bench.plot import draw, pareto_front
from edgeseg.bench.report import csv_text, markdown
from edgeseg.bench.speed import input_batch, time_runner
from edgeseg.bench.stats import summarize
from edgeseg.errors import EdgesegError
from edgeseg.runtime.base import IOSpec, Runner, Timing


def test_summarize():
    s = summarize([10, 20, 30, 40, 1000], batch=2)
    assert s["median_ms"] == 30 and s["min_ms"] == 10 and s["max_ms"] == 1000
    assert s["fps"] == pytest.approx(2000 / 30) and s["p90_ms"] > s["median_ms"]


class Sleepy(Runner):
    backend = "fake"

    def _activate(self):
        pass

    def _infer(self, batch):
        self.last_timing = Timing(compute_ms=1.0, h2d_ms=0.1, d2h_ms=0.2)
        return batch

    @property
    def io_spec(self):
        return IOSpec("float32", "NCHW", (None, 3, None, None), "logits")


def test_time_runner_counts_and_gpu_split():
    with Sleepy("x") as r:
        out = time_runner(r, np.zeros((1, 3, 4, 4), np.float32), warmup=2, iters=7)
    assert out["end_to_end"]["count"] == 7 and out["gpu_compute"]["median_ms"] == 1.0 and out["d2h_ms"] == 0.2
    with pytest.raises(EdgesegError):
        time_runner(r, np.zeros((1,)), iters=None, duration=None)


def test_input_batch_follows_the_spec():
    assert input_batch(IOSpec("uint8", "NHWC", (1, None, None, 3), "labels"), (4, 6), 2).shape == (2, 4, 6, 3)
    assert input_batch(IOSpec("float16", "NCHW", (None, 3, None, None), "logits"), (4, 6), 1).dtype == np.float16
    with pytest.raises(EdgesegError, match="fixed input of 8x8"):
        input_batch(IOSpec("float32", "NCHW", (1, 3, 8, 8), "logits"), (4, 6), 1)


ROWS = [
    {"artifact": "a.onnx", "path": "a", "precision": "fp32", "backend": "onnxruntime", "device": "cpu", "median_ms": 100,
     "fps": 10.0, "miou": 61.4, "drop": 0.0, "status": "ok"},
    {"artifact": "b.onnx", "path": "b", "precision": "int8", "backend": "onnxruntime", "device": "cpu", "median_ms": 50,
     "fps": 20.0, "miou": 61.3, "drop": 0.1, "status": "ok"},
    {"artifact": "c.onnx", "path": "c", "precision": "fp16", "backend": "onnxruntime", "device": "cpu", "median_ms": 200,
     "fps": 5.0, "miou": 61.0, "drop": 0.4, "status": "ok"},
    {"artifact": "d.engine", "path": "d", "precision": "int8", "backend": "tensorrt", "device": "cuda", "status": "failed: no GPU"},
]


def test_pareto_front():
    assert pareto_front([(10, 61.4), (20, 61.3), (5, 61.0)]) == [0, 1]


def test_tables_and_plot(tmp_path):
    md = markdown(ROWS)
    assert md.count("\n") == 2 + len(ROWS) and "failed: no GPU" in md
    assert csv_text(ROWS).splitlines()[0].startswith("artifact,precision")
    assert draw(ROWS, tmp_path / "p.png") == 3
    img = cv2.imread(str(tmp_path / "p.png"))
    assert img.shape == (650, 1000, 3) and (img != 255).any()
