"""`edgeseg bench ARTIFACT --source VIDEO --cpp PATH`: edgeseg-cpp's end-to-end figures in a row of their
own ("OpenVINO C++") beside Python's, in the table, the JSON and what `edgeseg compare` reads."""

import json

import pytest

from edgeseg.cli.main import main
from tiny import tiny_onnx
from videos import make_video

pytestmark = pytest.mark.slow


def test_bench_puts_the_cpp_run_beside_pythons(edgeseg_cpp, tmp_path, capsys):
    model, video = tiny_onnx(tmp_path / "tiny.onnx"), tmp_path / "clip.avi"
    frames = make_video(video, count=4)
    assert main(["bench", str(model), "--source", str(video), "--cpp", str(edgeseg_cpp), "--backend", "openvino",
                 "--threads", "1", "--input-size", "180x240", "--warmup", "1", "--iters", "3",
                 "--json", str(tmp_path / "b.json")]) == 0
    assert f"OpenVINO C++ rows: the same video and artifact run by {edgeseg_cpp}" in " ".join(capsys.readouterr().out.split())
    python, cpp = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert (python["backend"], cpp["backend"], cpp["status"], cpp["path"]) == ("openvino", "OpenVINO C++", "ok", str(model))
    assert cpp["description"] == "edgeseg-cpp openvino CPU 1 threads" and cpp["cpu_threads"] == 1
    for row in (python, cpp):
        v = row["video"]
        assert v["frames_out"] == len(frames) and v["e2e_fps"] > 0 and v["model_mode"] == "async"
        assert v["model_fps"] == v["model"]["async"]["fps"] and v["requests"] == v["model"]["async"]["requests"]
    assert cpp["end_to_end"]["median_ms"] == cpp["video"]["model"]["sync"]["median_ms"] > 0
    assert main(["compare", str(tmp_path / "b.json"), "--csv", str(tmp_path / "t.csv")]) == 0
    csv_rows = (tmp_path / "t.csv").read_text().splitlines()[1:]
    assert [r.split(",")[2] for r in csv_rows] == ["openvino", "OpenVINO C++"]
