import pytest
"""`edgeseg demo` runs from what the repository ships and leaves a table, a plot and pictures."""

import json

import cv2

from edgeseg.cli.main import main
from edgeseg.runtime import installed
from videos import read_video

pytestmark = pytest.mark.slow  # exports or builds real models: the full run, not the fast tier


def test_demo_end_to_end(tmp_path, capsys):
    code = main(["demo", "-o", str(tmp_path), "--iters", "3"])
    out, err = capsys.readouterr()
    assert code == 0, err
    for name in ("fp32.onnx", "fp16.onnx", "int8.onnx", "s2fpn18_camvid_half.pth"):
        assert name in out
    plot = cv2.imread(str(tmp_path / "miou_vs_fps.png"))
    assert plot is not None and plot.shape == (650, 1000, 3)
    bench = json.loads((tmp_path / "bench.json").read_text())
    openvino = installed("openvino")
    assert [r["status"] for r in bench["rows"]] == ["ok"] * (7 if openvino else 4)
    rows = {(r["path"].rsplit("/", 1)[-1], r["backend"]): r for r in bench["rows"]}
    assert abs(rows["s2fpn18_180x240.fp32.onnx", "onnxruntime"]["miou_drop"]) < 0.01
    assert abs(rows["s2fpn18_180x240.int8.onnx", "onnxruntime"]["miou_drop"]) < 1.0
    if openvino:  # the same files through OpenVINO, with the accuracy of what OpenVINO ran
        assert "openvino" in out and "openvino" in bench["versions"]
        assert abs(rows["s2fpn18_180x240.fp32.onnx", "openvino"]["miou_drop"]) < 0.01
        assert rows["s2fpn18_180x240.int8.onnx", "openvino"]["agreement"] is not None
    assert len(list((tmp_path / "predictions").glob("*_diff.png"))) == 3
    assert "end-to-end" in out and "26 frames" in out  # the bundled frames as a video, through `edgeseg run`
    assert len(read_video(tmp_path / "camvid-demo-overlay.avi")) == 26
