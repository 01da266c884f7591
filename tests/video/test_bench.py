"""`edgeseg bench --source`: end-to-end columns on the timed rows, in the table, CSV and compare."""

import json

import pytest

from edgeseg.bench import report
from edgeseg.bench.run import BenchSettings, run_bench
from edgeseg.cli.main import main
from edgeseg.errors import EdgesegError
from edgeseg.video.bench import add_end_to_end, check_source
from tiny import tiny_onnx
from videos import make_video


def test_rows_gain_end_to_end_columns(tmp_path, capsys):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    make_video(tmp_path / "clip.avi", count=6)
    result = run_bench([str(model)], BenchSettings(input_size=(180, 240), warmup=1, iters=5, backend="onnxruntime"))
    add_end_to_end(result, str(tmp_path / "clip.avi"), {"provider": "cpu"}, model_seconds=0.4)
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
