"""edgeseg.video.cpp: edgeseg-cpp's summary read from Python, in run_video's schema, for tables that
put the C++ figures beside Python's; the program's refusals become one EdgesegError."""

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.video.cpp import run_cpp
from tiny import tiny_onnx
from videos import make_video

pytestmark = pytest.mark.slow


def test_run_cpp_returns_the_summary_and_its_refusals(edgeseg_cpp, tmp_path):
    model, video = tiny_onnx(tmp_path / "tiny.onnx"), tmp_path / "clip.avi"
    frames = make_video(video, count=4)
    summary = run_cpp(edgeseg_cpp, model, video, threads=1, model_seconds=0.1, video_out=tmp_path / "o.avi")
    assert summary["frames_out"] == len(frames) and summary["outputs"]["video"] == str(tmp_path / "o.avi")
    assert summary["backend"] == "openvino CPU 1 threads" and summary["model_fps"] > 0
    with pytest.raises(EdgesegError, match="absent.avi: no such video file"):
        run_cpp(edgeseg_cpp, model, tmp_path / "absent.avi")
    with pytest.raises(EdgesegError, match="no edgeseg-cpp program"):
        run_cpp(tmp_path / "nothing", model, video)
