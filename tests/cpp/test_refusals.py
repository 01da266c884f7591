"""edgeseg-cpp refuses what it cannot run with one line on stderr and exit status 1, before any
model is compiled: never a crash, a traceback-like abort or a half-written output."""

import json
import shutil

import pytest

from conftest import DEMO, run_cpp
from edgeseg.artifacts import sha256_file
from tiny import tiny_onnx

pytestmark = pytest.mark.slow
IMAGE = sorted((DEMO / "val").glob("*.png"))[0]


def assert_refused(proc, *words):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("edgeseg-cpp: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def tiny(tmp_path):
    return tiny_onnx(tmp_path / "tiny.onnx")


def test_a_good_artifact_opens(edgeseg_cpp, tiny, tmp_path):
    proc = run_cpp(edgeseg_cpp, "segment", tiny, IMAGE, "-o", tmp_path / "out")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{IMAGE.stem}_{k}.png" for k in
                                                                   ("classes", "mask", "overlay")]


def test_bad_artifact(edgeseg_cpp, tiny, tmp_path):
    tiny.write_bytes(b"not an onnx model")
    meta = json.loads(tiny.with_name("tiny.onnx.json").read_text())
    tiny.with_name("tiny.onnx.json").write_text(json.dumps({**meta, "sha256": sha256_file(tiny)}))
    assert_refused(run_cpp(edgeseg_cpp, "segment", tiny, IMAGE, "-o", tmp_path / "out"), "OpenVINO cannot read it", "can't be parsed")
    assert_refused(run_cpp(edgeseg_cpp, "segment", tmp_path / "model.txt", IMAGE, "-o", tmp_path / "out"),
                   "not an artifact")
    assert_refused(run_cpp(edgeseg_cpp, "segment", tmp_path / "absent.onnx", IMAGE, "-o", tmp_path / "out"),
                   "no such file")


def test_missing_or_broken_sidecar(edgeseg_cpp, tiny, tmp_path):
    side = tiny.with_name("tiny.onnx.json")
    side.write_text("{not json")
    assert_refused(run_cpp(edgeseg_cpp, "segment", tiny, IMAGE, "-o", tmp_path / "out"), "not valid JSON")
    side.write_text(json.dumps({"dataset": {}}))
    assert_refused(run_cpp(edgeseg_cpp, "segment", tiny, IMAGE, "-o", tmp_path / "out"), "no preprocess block")
    side.unlink()
    assert_refused(run_cpp(edgeseg_cpp, "segment", tiny, IMAGE, "-o", tmp_path / "out"), "no sidecar")
    assert not (tmp_path / "out").exists()


def test_sidecar_of_another_file(edgeseg_cpp, tiny, tmp_path):
    side = tiny.with_name("tiny.onnx.json")
    meta = json.loads(side.read_text())
    side.write_text(json.dumps({**meta, "sha256": "0" * 64}))
    assert_refused(run_cpp(edgeseg_cpp, "segment", tiny, IMAGE, "-o", tmp_path / "out"), "stale sidecar", "sha256")
    side.write_text(json.dumps({**meta, "sha256": sha256_file(tiny)}))  # the right hash opens it
    assert run_cpp(edgeseg_cpp, "segment", tiny, IMAGE, "-o", tmp_path / "out").returncode == 0


def test_engine_without_tensorrt(edgeseg_cpp, tiny, tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"plan")
    shutil.copy(tiny.with_name("tiny.onnx.json"), tmp_path / "model.engine.json")
    assert_refused(run_cpp(edgeseg_cpp, "run", engine, IMAGE), "TensorRT engine", "without TensorRT")


def test_missing_or_unreadable_video(edgeseg_cpp, tiny, tmp_path):
    assert_refused(run_cpp(edgeseg_cpp, "run", tiny, tmp_path / "absent.avi"), "no such video")
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"\x00" * 4096)
    assert_refused(run_cpp(edgeseg_cpp, "run", tiny, junk, "-o", tmp_path / "o.avi"), "not a video")
    assert_refused(run_cpp(edgeseg_cpp, "run", tiny, tmp_path), "no such video")
    assert not (tmp_path / "o.avi").exists()


def test_unreadable_image_and_bad_output(edgeseg_cpp, tiny, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"junk")
    assert_refused(run_cpp(edgeseg_cpp, "segment", tiny, junk, "-o", tmp_path / "out"), "cannot read image")
    video = tmp_path / "in.avi"
    video.write_bytes(b"")
    assert_refused(run_cpp(edgeseg_cpp, "run", tiny, video, "-o", video), "input of this run")
    assert_refused(run_cpp(edgeseg_cpp, "run", tiny, video, "-o", tmp_path / "out.mp4"), ".avi")


def test_wrong_command_line(edgeseg_cpp):
    proc = run_cpp(edgeseg_cpp, "segmnet")
    assert proc.returncode == 2 and proc.stderr.startswith("edgeseg-cpp: unknown command segmnet")
