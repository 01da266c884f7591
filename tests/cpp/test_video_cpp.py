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
    # model_time.py's pair: latency one at a time, throughput with the pipeline's requests in flight
    sync, async_ = summary["model"]["sync"], summary["model"]["async"]
    assert (summary["e2e_mode"], summary["model_mode"], sync["mode"], async_["mode"]) == ("async", "async", "sync", "async")
    assert async_["requests"] == summary["requests"] == 2 and sync["requests"] == 1
    assert summary["model_fps"] == async_["fps"] and sync["fps"] == pytest.approx(1000 / sync["median_ms"], rel=2e-3)
    assert summary["e2e_over_model"] == pytest.approx(summary["e2e_fps"] / async_["fps"], rel=1e-3)
    untimed = run_cpp(edgeseg_cpp, model, video, threads=1, model_seconds=0)
    assert (untimed["model"], untimed["model_fps"], untimed["model_mode"], untimed["requests"]) == (None, None, None, 2)
    with pytest.raises(EdgesegError, match="absent.avi: no such video file"):
        run_cpp(edgeseg_cpp, model, tmp_path / "absent.avi")
    with pytest.raises(EdgesegError, match="no edgeseg-cpp program"):
        run_cpp(tmp_path / "nothing", model, video)
