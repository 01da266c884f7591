"""`edgeseg bench --source`: end-to-end columns on the timed rows, in the table, CSV and compare."""

import json

import pytest

from edgeseg.bench import report
from edgeseg.bench.benchmark import BenchSettings, run_bench
from edgeseg.cli.main import main
from edgeseg.errors import EdgesegError
from edgeseg.runtime.choice import RunnerRequest
from edgeseg.video.bench import add_cpp_rows, add_end_to_end, check_source
from tiny import tiny_onnx
from videos import make_video


def test_rows_gain_end_to_end_columns(tmp_path, capsys):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    make_video(tmp_path / "clip.avi", count=6)
    result = run_bench([str(model)], BenchSettings(input_size=(180, 240), warmup=1, iters=5, backend="onnxruntime"))
    add_end_to_end(result, str(tmp_path / "clip.avi"), RunnerRequest(provider="cpu"), model_seconds=0.4)
    video = result["rows"][0]["video"]
    assert video["frames_out"] == 6 and video["e2e_fps"] > 0 and video["e2e_over_model"] > 0
    # e2e/model divides by the model's rate in the pipeline's own (asynchronous) mode, not the row's sync FPS
    assert (video["e2e_mode"], video["model_mode"], video["model"]["sync"]["mode"]) == ("async", "async", "sync")
    assert video["e2e_over_model"] == round(video["e2e_fps"] / video["model"]["async"]["fps"], 4)
    rows = report.load_rows_from(result)
    assert "async FPS" in report.markdown(rows) and "e2e_ratio" in report.csv_text(rows)
    (tmp_path / "b.json").write_text(json.dumps(result))
    assert main(["compare", str(tmp_path / "b.json")]) == 0
    assert "e2e FPS" in capsys.readouterr().out


def test_a_bad_source_is_refused_before_timing(tmp_path):
    with pytest.raises(EdgesegError, match="no such file"):
        check_source(str(tmp_path / "none.mp4"))


def test_cpp_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    """--cpp: a missing or non-executable program, no video file, or nothing it runs: one line, exit 1, no timing."""
    import edgeseg.bench.benchmark

    monkeypatch.setattr(edgeseg.bench.benchmark, "run_bench", lambda *a, **k: pytest.fail("timed before refusing"))
    model = tiny_onnx(tmp_path / "tiny.onnx")
    make_video(tmp_path / "clip.avi", count=2)
    plain = tmp_path / "edgeseg-cpp"
    plain.write_text("#!/bin/sh\n")  # not executable
    cases = [([str(model), "--source", str(tmp_path / "clip.avi"), "--cpp", str(tmp_path / "absent")],
              "absent: no edgeseg-cpp program there"),
             ([str(model), "--source", str(tmp_path / "clip.avi"), "--cpp", str(plain)], "edgeseg-cpp: no edgeseg-cpp program"),
             ([str(model), "--cpp", str(plain)], "--cpp needs --source VIDEO"),
             ([str(model), "--source", str(tmp_path), "--cpp", "/bin/true"], "edgeseg-cpp reads video files"),
             ([str(tmp_path / "m.pth"), "--source", str(tmp_path / "clip.avi"), "--cpp", "/bin/true"],
              "none of the artifacts is one")]
    for args, message in cases:
        assert main(["bench", *args]) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err


def test_a_failed_cpp_run_is_a_failed_row_saying_why(tmp_path):
    program = tmp_path / "edgeseg-cpp"
    program.write_text("#!/bin/sh\necho 'edgeseg-cpp: clip.avi: not a video OpenCV can decode' >&2\nexit 1\n")
    program.chmod(0o755)
    result = {"rows": [{"path": "a.onnx", "status": "ok", "precision": "int8"}, {"path": "b.pth", "status": "ok"}]}
    add_cpp_rows(result, program, "clip.avi")
    assert [(r["path"], r.get("backend")) for r in result["rows"]] == [("a.onnx", None), ("a.onnx", "OpenVINO C++"),
                                                                        ("b.pth", None)]
    cpp = result["rows"][1]
    assert (cpp["status"], cpp["reason"], cpp["precision"]) == ("failed", "clip.avi: not a video OpenCV can decode", "int8")
    with pytest.raises(EdgesegError, match="1 of 3 benchmark rows failed"):
        report.check_rows(result)
