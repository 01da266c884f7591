"""`edgeseg bench` and `edgeseg compare` end to end on tiny ONNX models."""

import json

import cv2

from edgeseg.cli.main import main
from tiny import tiny_onnx


def test_bench_json_then_compare(tmp_path, capsys):
    a, b = tiny_onnx(tmp_path / "a.onnx"), tiny_onnx(tmp_path / "b.onnx", seed=1)
    missing = tmp_path / "gone.onnx"
    code = main(["bench", str(a), str(b), str(missing), "--input-size", "32x48", "--iters", "5", "--warmup", "1",
                 "--json", str(tmp_path / "r.json"), "--md", str(tmp_path / "r.md")])
    assert code == 0, capsys.readouterr().err
    result = json.loads((tmp_path / "r.json").read_text())
    ok, ok2, failed = result["rows"]
    assert ok["status"] == "ok" and ok["end_to_end"]["count"] == 5 and ok["input"] == [1, 3, 32, 48]
    assert failed["status"] == "failed" and "no such file" in failed["reason"]  # one failure, table survives
    assert result["device"]["profile"] == "cpu" and result["device"]["cores"] >= 1
    assert "onnxruntime" in result["versions"]
    # an eval file adds mIoU to the same artifacts
    (tmp_path / "e.json").write_text(json.dumps({"artifacts": [
        {"path": str(a), "miou": 50.0, "miou_drop": None, "precision": "fp32", "backend": "onnxruntime"},
        {"path": str(b), "miou": 49.0, "miou_drop": 1.0, "precision": "fp32", "backend": "onnxruntime"}]}))
    code = main(["compare", str(tmp_path / "r.json"), str(tmp_path / "e.json"), "--csv", str(tmp_path / "t.csv"),
                 "--plot", str(tmp_path / "p.png")])
    out, err = capsys.readouterr()
    assert code == 0 and "a.onnx" in out and "plot: 2 rows; 1 without FPS or mIoU not plotted" in err
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 4
    assert cv2.imread(str(tmp_path / "p.png")).shape == (650, 1000, 3)


def test_bench_jetson_profile_on_a_pc_stops(tmp_path, capsys):
    code = main(["bench", str(tiny_onnx(tmp_path / "a.onnx")), "--device", "jetson-orin"])
    err = capsys.readouterr().err
    assert code == 1 and "needs a Jetson AGX Orin" in err and err.count("\n") == 1


def test_compare_rejects_other_json(tmp_path, capsys):
    (tmp_path / "x.json").write_text("{}")
    assert main(["compare", str(tmp_path / "x.json")]) == 1
    assert "neither bench nor eval" in capsys.readouterr().err
