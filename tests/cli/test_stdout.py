"""stdout holds only results (tables, reports, the final path); progress, logs and other tools'
output go to stderr. One test per command, on small inputs; scripts read the last stdout line."""

import json
from pathlib import Path

import pytest

from edgeseg.cli.main import main
from edgeseg.demo import assets
from golden import save_checkpoint
from tiny import tiny_camvid, tiny_onnx
from videos import make_video

CKPT = assets() / "s2fpn18_camvid_half.pth"
# What only progress, logs and third-party tools print: never on stdout.
NOT_RESULTS = ("warning:", "building", "reusing", "calibrating", "benchmarking", "evaluating", "done in", " • ",
               "Statistics collection", "INFO", "nncf", "[ray]")


def run(capsys, *argv) -> tuple[str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    for marker in NOT_RESULTS:
        assert marker not in out, f"{marker!r} on stdout:\n{out}"
    return out, err


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("stdout")
    tiny_camvid(root / "cv")
    return root, tiny_onnx(root / "a.onnx"), tiny_onnx(root / "b.onnx", seed=1)


def test_inspect(capsys):
    out, _ = run(capsys, "inspect", CKPT)
    assert "s2fpn18" in out


def test_calib_make(capsys, tmp_path):
    out, err = run(capsys, "calib", "make", "--data", assets(), "--split", "val", "-n", "4", "-o", tmp_path / "m.txt")
    assert out.strip() == str(tmp_path / "m.txt") and "4 images" in err


def test_eval(capsys, data, tmp_path):
    root, a, b = data
    out, err = run(capsys, "eval", a, b, "--val", root / "cv", "--json", tmp_path / "e.json")
    assert "mIoU" in out and json.loads((tmp_path / "e.json").read_text())["images"] == 3
    assert "evaluating: 3/3" in err  # one line per phase when stderr is not a terminal


def test_predict(capsys, data, tmp_path):
    root, a, _ = data
    out, _ = run(capsys, "predict", a, root / "cv" / "val", "-o", tmp_path / "p")
    assert (tmp_path / "p" / "im0_mask.png").exists()


def test_bench_and_compare(capsys, data, tmp_path):
    root, a, b = data
    out, err = run(capsys, "bench", a, b, "--input-size", "24x32", "--warmup", "1", "--iters", "3", "--val",
                   root / "cv", "--json", tmp_path / "b.json")
    assert "a.onnx" in out and "benchmarking: 2/2" in err
    out, _ = run(capsys, "compare", tmp_path / "b.json", "--md", tmp_path / "t.md", "--csv", tmp_path / "t.csv")
    assert "b.onnx" in out and (tmp_path / "t.md").exists() and (tmp_path / "t.csv").exists()


def test_run(capsys, data, tmp_path):
    _, a, _ = data
    make_video(tmp_path / "clip.avi", count=4)
    out, _ = run(capsys, "run", a, tmp_path / "clip.avi", "-o", tmp_path / "o.avi", "--backend", "onnxruntime",
                 "--model-seconds", "0.1")
    assert "end-to-end" in out


@pytest.mark.slow
def test_export(capsys, tmp_path):
    save_checkpoint("s2fpn18", tmp_path / "c.pth")
    out, err = run(capsys, "export", tmp_path / "c.pth", "-o", tmp_path / "out", "--input-size", "64x96",
                   "--device", "cpu", "--min-agreement", "0.5", "--deepstream")
    assert Path(last_line(out)).is_file() and "export (each stage verified" in out and "raw: building" in err
    assert "tensorrt_parse" not in out and "None" not in out  # a CPU export: what matters on a CPU
    assert "nvinfer config" in out
